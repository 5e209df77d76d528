package main

import (
	"fmt"
	"strings"
	"testing"
)

func TestBatcherGroupsLinesIntoBatchesAndRequests(t *testing.T) {
	var bodies [][]byte
	b := newBatcher(3, 2, func(body []byte) { bodies = append(bodies, body) })
	var sent []string
	for i := 0; i < 10; i++ {
		line := fmt.Sprintf("t%d|%d|s|||||", i%4, i)
		sent = append(sent, line)
		b.add([]byte(line))
		if i == 1 {
			b.ids = append(b.ids, "t1")
		}
	}
	if len(bodies) != 1 { // 6 lines = 2 batches of 3 = one request
		t.Fatalf("%d requests before flush, want 1", len(bodies))
	}
	b.flush()
	if len(bodies) != 2 {
		t.Fatalf("%d requests after flush, want 2", len(bodies))
	}
	var got []string
	var sizes []int
	for i, body := range bodies {
		ids, batches, err := decodeSpans(body)
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if i == 0 && (len(ids) != 1 || string(ids[0]) != "t1") {
			t.Errorf("request 0 ids = %q, want [t1]", ids)
		}
		if i == 1 && len(ids) != 0 {
			t.Errorf("ids sent twice: %q", ids)
		}
		for _, batch := range batches {
			sizes = append(sizes, len(batch))
			for _, l := range batch {
				got = append(got, string(l))
			}
		}
	}
	if fmt.Sprint(sizes) != "[3 3 3 1]" {
		t.Errorf("batch sizes %v, want [3 3 3 1]", sizes)
	}
	if strings.Join(got, "\n") != strings.Join(sent, "\n") {
		t.Errorf("lines changed on the way:\n%q\n%q", got, sent)
	}
}

func TestBatcherFlushSendsIdsAlone(t *testing.T) {
	var bodies [][]byte
	b := newBatcher(100, 1, func(body []byte) { bodies = append(bodies, body) })
	b.flush()
	if len(bodies) != 0 {
		t.Fatal("an empty flush must send nothing")
	}
	b.ids = append(b.ids, "a", "b")
	b.flush()
	ids, batches, err := decodeSpans(bodies[0])
	if err != nil || len(ids) != 2 || len(batches) != 0 {
		t.Errorf("got ids %q batches %d err %v", ids, len(batches), err)
	}
}

func TestDecodeSpansRejectsTruncatedBatch(t *testing.T) {
	if _, _, err := decodeSpans([]byte("B 3\nx\ny\n")); err == nil {
		t.Error("a batch with fewer lines than announced must fail")
	}
	if _, _, err := decodeSpans([]byte("x\n")); err == nil {
		t.Error("a body without a batch header must fail")
	}
}
