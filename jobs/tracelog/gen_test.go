package main

import (
	"bytes"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"small": namedSizes["small"], "LARGE": namedSizes["large"], "20m": 20 << 20, "3k": 3 << 10, "1g": 1 << 30, "500": 500} {
		if got, err := parseSize(in); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "huge", "-5m", "m"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q) should fail", bad)
		}
	}
}

func TestGenerateIsDeterministic(t *testing.T) {
	a, b, c := generate(1<<20, 7), generate(1<<20, 7), generate(1<<20, 8)
	for h := 0; h < 2; h++ {
		if !bytes.Equal(a.halves[h], b.halves[h]) {
			t.Errorf("half %d differs between two runs with the same seed", h)
		}
		if bytes.Equal(a.halves[h], c.halves[h]) {
			t.Errorf("half %d is the same for another seed", h)
		}
	}
	if len(a.expected) != len(b.expected) {
		t.Fatal("expected answers differ")
	}
	for id, sum := range a.expected {
		if b.expected[id] != sum {
			t.Fatalf("expected checksum of %s differs", id)
		}
	}
}

// The expected answer must be exactly what a correct pipeline computes from
// the halves: every trace with an error span anywhere, checksummed over
// the spans of both halves.
func TestGenerateExpectedMatchesHalves(t *testing.T) {
	ds := generate(2<<20, 1)
	traces := map[string][][]byte{}
	erroneous := map[string]bool{}
	split := 0
	halfOfTrace := map[string]int{}
	for h, data := range ds.halves {
		prev := int64(-1)
		for _, line := range bytes.Split(bytes.TrimSuffix(data, []byte("\n")), []byte("\n")) {
			id := string(traceID(line))
			traces[id] = append(traces[id], line)
			if isErrorSpan(line) {
				erroneous[id] = true
			}
			if st := startTime(line); st < prev {
				t.Fatalf("half %d is not sorted by start time", h)
			} else {
				prev = st
			}
			if old, ok := halfOfTrace[id]; ok && old != h {
				split++
			}
			halfOfTrace[id] = h
		}
	}
	if len(traces) != ds.traces {
		t.Errorf("%d traces in the halves, generator says %d", len(traces), ds.traces)
	}
	if len(erroneous) != len(ds.expected) {
		t.Fatalf("%d erroneous traces in the halves, %d expected", len(erroneous), len(ds.expected))
	}
	for id := range erroneous {
		if got := checksum(traces[id]); got != ds.expected[id] {
			t.Fatalf("trace %s: checksum %s, expected %s", id, got, ds.expected[id])
		}
	}
	if rate := float64(len(erroneous)) / float64(len(traces)); math.Abs(rate-errorRate) > 0.03 {
		t.Errorf("error rate %.3f, want about %.2f", rate, errorRate)
	}
	if split < len(traces)/2 {
		t.Errorf("only %d of %d traces span both halves", split, len(traces))
	}
}

func TestPartRangeCoversEveryLineOnce(t *testing.T) {
	data := generate(64<<10, 3).halves[0]
	for n := 1; n <= 12; n++ {
		var joined []byte
		prevEnd := 0
		for k := 0; k < n; k++ {
			a, b := partRange(data, k, n)
			if a != prevEnd {
				t.Fatalf("n=%d part %d starts at %d, previous ended at %d", n, k, a, prevEnd)
			}
			if a > 0 && data[a-1] != '\n' {
				t.Fatalf("n=%d part %d does not start a line", n, k)
			}
			joined = append(joined, data[a:b]...)
			prevEnd = b
		}
		if !bytes.Equal(joined, data) {
			t.Fatalf("n=%d: parts do not add up to the data", n)
		}
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// runPipeline runs the four roles in-process on local ports, as the
// containers would, and returns score's error.
func runPipeline(t *testing.T, cfg config) (error, string) {
	cfg.scoreAddr, cfg.backendAddr = freeAddr(t), freeAddr(t)
	cfg.outDir = t.TempDir()
	cfg.peerWait = 10 * time.Second
	errs := make(chan error, 3)
	var wg sync.WaitGroup
	for _, role := range []string{"c1", "c2", "b"} {
		wg.Add(1)
		go func(role string) {
			defer wg.Done()
			c := cfg
			if role == "b" {
				c.listen = cfg.backendAddr
				errs <- runBackend(c)
			} else {
				errs <- runClient(c, role)
			}
		}(role)
	}
	sc := cfg
	sc.listen = cfg.scoreAddr
	err := runScore(sc)
	if err == nil {
		wg.Wait()
		close(errs)
		for e := range errs {
			if e != nil {
				t.Errorf("component failed: %v", e)
			}
		}
	}
	out, _ := os.ReadFile(filepath.Join(cfg.outDir, "score.txt"))
	return err, string(out)
}

func TestPipelineEndToEnd(t *testing.T) {
	defer func(n int) { checkEvery = n }(checkEvery)
	checkEvery = 5 // learn error ids mid-stream, before some of their spans arrive
	for _, c := range []config{
		{numChunk: 1, batchSize: 1, batchPerReq: 1},
		{numChunk: 3, batchSize: 7, batchPerReq: 2},
		{numChunk: 10, batchSize: 100000, batchPerReq: 10},
	} {
		c.dataSize, c.seed = "512k", 5
		err, score := runPipeline(t, c)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if !strings.HasSuffix(score, "\n") || len(score) < 2 {
			t.Errorf("score.txt = %q", score)
		}
	}
}

func TestPipelineWrongAnswerFails(t *testing.T) {
	err, score := runPipeline(t, config{numChunk: 2, batchSize: 50, batchPerReq: 2, dataSize: "256k", seed: 5, corrupt: true})
	if err == nil || !strings.Contains(err.Error(), "wrong answer") {
		t.Fatalf("a corrupted checksum gave %v, want a wrong answer", err)
	}
	if score != "" {
		t.Errorf("a wrong answer wrote score.txt %q", score)
	}
}
