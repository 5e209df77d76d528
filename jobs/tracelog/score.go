package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// scoreTimeout bounds a run whose result never comes (the tuner's own
// timeout normally kills the trial first).
const scoreTimeout = 10 * time.Minute

type result struct {
	elapsed time.Duration
	answer  map[string]string
	err     error
}

func runScore(cfg config) error {
	size, err := parseSize(cfg.dataSize)
	if err != nil {
		return err
	}
	var (
		ds        *dataset
		ready     = make(chan struct{})
		startOnce sync.Once
		start     time.Time
		results   = make(chan result, 1)
	)
	mux := http.NewServeMux()
	// GET /data/{1,2}?part=k&parts=n serves part k of n of a half, cut on line boundaries.
	mux.HandleFunc("/data/", func(w http.ResponseWriter, r *http.Request) {
		half, err1 := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/data/"))
		k, err2 := strconv.Atoi(r.URL.Query().Get("part"))
		n, err3 := strconv.Atoi(r.URL.Query().Get("parts"))
		if err1 != nil || err2 != nil || err3 != nil || half < 1 || half > 2 || n < 1 || k < 0 || k >= n {
			http.Error(w, "want /data/{1,2}?part=k&parts=n", http.StatusBadRequest)
			return
		}
		// Clients connect while the data is generated and all start together.
		<-ready
		startOnce.Do(func() { start = time.Now() })
		data := ds.halves[half-1]
		a, b := partRange(data, k, n)
		w.Header().Set("Content-Length", strconv.Itoa(b-a))
		w.Write(data[a:b])
	})
	// POST /result: "traceId checksum" lines from the backend.
	mux.HandleFunc("/result", func(w http.ResponseWriter, r *http.Request) {
		var elapsed time.Duration
		startOnce.Do(func() { start = time.Now() }) // no data served: a bogus but non-fast run
		elapsed = time.Since(start)
		answer, err := readAnswer(r.Body)
		select {
		case results <- result{elapsed, answer, err}:
		default: // a second result is ignored
		}
		io.WriteString(w, "ok\n")
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srvErr := make(chan error, 1)
	go func() { srvErr <- serve(ctx, cfg.listen, mux) }()
	// The generator's garbage (an arena as big as the data) need not double the heap.
	debug.SetGCPercent(25)
	t0 := time.Now()
	ds = generate(size, cfg.seed)
	log.Printf("generated %d traces, %d spans, %d erroneous; halves %d + %d bytes in %.2fs",
		ds.traces, ds.spans, len(ds.expected), len(ds.halves[0]), len(ds.halves[1]), time.Since(t0).Seconds())
	// Collect the generator's garbage now, not while the run is timed: score's own
	// housekeeping is not the system under test, and it adds noise to every run.
	debug.FreeOSMemory()
	close(ready)

	var res result
	select {
	case res = <-results:
	case err := <-srvErr:
		return fmt.Errorf("server: %v", err)
	case <-time.After(scoreTimeout):
		return fmt.Errorf("no result from the backend after %s", scoreTimeout)
	}
	if res.err != nil {
		fmt.Println("wrong answer:", res.err)
		return fmt.Errorf("wrong answer: %v", res.err)
	}
	if err := compareAnswer(ds.expected, res.answer); err != nil {
		fmt.Println("wrong answer:", err)
		return fmt.Errorf("wrong answer: %v", err)
	}
	secs := strconv.FormatFloat(res.elapsed.Seconds(), 'f', 3, 64)
	log.Printf("correct: %d erroneous traces", len(ds.expected))
	total := len(ds.halves[0]) + len(ds.halves[1])
	fmt.Printf("throughput %.1f MB/s\n", float64(total)/(1<<20)/res.elapsed.Seconds())
	fmt.Printf("total %ss\n", secs)
	if cfg.outDir != "" {
		if err := os.WriteFile(filepath.Join(cfg.outDir, "score.txt"), []byte(secs+"\n"), 0o644); err != nil {
			return fmt.Errorf("write score: %v", err)
		}
	}
	return nil
}

func readAnswer(r io.Reader) (map[string]string, error) {
	answer := map[string]string{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		if bytes.HasPrefix(line, []byte("#error ")) {
			return nil, fmt.Errorf("backend failed: %s", line[len("#error "):])
		}
		f := strings.Fields(string(line))
		if len(f) != 2 {
			return nil, fmt.Errorf("bad line %q", line)
		}
		answer[f[0]] = f[1]
	}
	return answer, sc.Err()
}

// compareAnswer explains the first few differences between two answers.
func compareAnswer(want, got map[string]string) error {
	var diffs []string
	missing, wrong, extra := 0, 0, 0
	for id, w := range want {
		g, ok := got[id]
		switch {
		case !ok:
			missing++
			diffs = append(diffs, fmt.Sprintf("trace %s missing", id))
		case g != w:
			wrong++
			diffs = append(diffs, fmt.Sprintf("trace %s checksum %s, want %s", id, g, w))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			extra++
			diffs = append(diffs, fmt.Sprintf("trace %s is not erroneous", id))
		}
	}
	if len(diffs) == 0 {
		return nil
	}
	sort.Strings(diffs)
	if len(diffs) > 3 {
		diffs = diffs[:3]
	}
	return fmt.Errorf("%d of %d checksums wrong, %d missing, %d extra (%s)",
		wrong, len(want), missing, extra, strings.Join(diffs, "; "))
}
