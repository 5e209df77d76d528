package main

import (
	"fmt"
	"sort"
	"sync"
	"time"
)

// progressEvery is how often a client prints a progress line while it parses.
const progressEvery = 50 * time.Millisecond

// progressLine is what a client prints while it parses: the share of its half
// parsed so far, its throughput since the first byte, and the time its parse
// is heading for at that pace (what tuner's pruner compares, as
// objective.progress; worded so that it never matches score's "total").
func progressLine(parsed, total int64, elapsed time.Duration) string {
	secs := elapsed.Seconds()
	frac := float64(parsed) / float64(total)
	mbps := float64(parsed) / (1 << 20) / secs
	return fmt.Sprintf("progress %.0f%% parsed, %.1f MB/s, projected %.3fs",
		100*frac, mbps, secs/frac)
}

// latencies keeps every request's delivery latency (from the batching of its
// oldest span to the backend's answer), for the percentiles printed at the end
// (a few thousand requests at most).
type latencies struct {
	mu sync.Mutex
	ds []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.ds = append(l.ds, d)
	l.mu.Unlock()
}

// percentile is the nearest-rank q-th percentile (0 < q <= 100); 0 when empty.
func (l *latencies) percentile(q float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), l.ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(q/100*float64(len(s))+0.999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(s) {
		rank = len(s) - 1
	}
	return s[rank]
}

func (l *latencies) line() string {
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	l.mu.Lock()
	n := len(l.ds)
	l.mu.Unlock()
	return fmt.Sprintf("delivery latency p50 %.2fms p99 %.2fms over %d requests",
		ms(l.percentile(50)), ms(l.percentile(99)), n)
}
