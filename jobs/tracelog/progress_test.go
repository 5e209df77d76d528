package main

import (
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	got := progressLine(25<<20, 100<<20, 500*time.Millisecond)
	want := "progress 25% parsed, 50.0 MB/s, projected 2.000s"
	if got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestPercentiles(t *testing.T) {
	var l latencies
	if l.percentile(99) != 0 {
		t.Fatal("empty: want 0")
	}
	for i := 100; i >= 1; i-- { // 1..100 ms, added out of order
		l.add(time.Duration(i) * time.Millisecond)
	}
	for q, want := range map[float64]time.Duration{50: 50, 99: 99, 100: 100, 1: 1} {
		if got := l.percentile(q); got != want*time.Millisecond {
			t.Errorf("p%v = %v, want %v", q, got, want*time.Millisecond)
		}
	}
	if got := l.line(); got != "delivery latency p50 50.00ms p99 99.00ms over 100 requests" {
		t.Errorf("line = %q", got)
	}
}
