package main

// The backend merges the spans both clients send, keeps the union of error
// ids (and tells each client what it has not seen yet), and once both
// clients are done computes one checksum per erroneous trace for score.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

var clientNames = []string{"c1", "c2"}

type backend struct {
	cfg  config
	mu   sync.Mutex
	cond *sync.Cond // signalled when a client syncs

	traces   map[string][][]byte // spans received, by trace id
	errList  []string            // union of error ids, in arrival order
	errSet   map[string]bool
	received map[string]int64 // span lines per client
	synced   map[string]bool
	claimed  map[string]int64 // span lines each client says it sent
	requests int

	finished chan error
}

func newBackend(cfg config) *backend {
	b := &backend{
		cfg:      cfg,
		traces:   map[string][][]byte{},
		errSet:   map[string]bool{},
		received: map[string]int64{},
		synced:   map[string]bool{},
		claimed:  map[string]int64{},
		finished: make(chan error, 1),
	}
	b.cond = sync.NewCond(&b.mu)
	return b
}

func clientParam(r *http.Request) (string, error) {
	name := r.URL.Query().Get("client")
	for _, c := range clientNames {
		if name == c {
			return name, nil
		}
	}
	return "", fmt.Errorf("unknown client %q", name)
}

// idsSince writes the backend's list length and the ids after since. Holds b.mu.
func (b *backend) idsSince(w io.Writer, r *http.Request) {
	since, _ := strconv.Atoi(r.URL.Query().Get("since"))
	if since < 0 || since > len(b.errList) {
		since = 0
	}
	var out bytes.Buffer
	out.WriteString(strconv.Itoa(len(b.errList)))
	out.WriteByte('\n')
	for _, id := range b.errList[since:] {
		out.WriteString(id)
		out.WriteByte('\n')
	}
	w.Write(out.Bytes())
}

func (b *backend) addIDs(ids [][]byte) {
	for _, id := range ids {
		if !b.errSet[string(id)] {
			s := string(id)
			b.errSet[s] = true
			b.errList = append(b.errList, s)
		}
	}
}

func (b *backend) handleSpans(w http.ResponseWriter, r *http.Request) {
	name, err := clientParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The whole request is read before merging: the request size is memory here.
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	ids, batches, err := decodeSpans(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	b.addIDs(ids)
	b.requests++
	b.mu.Unlock()
	// One lock per batch: concurrent requests interleave between batches.
	for _, batch := range batches {
		b.mu.Lock()
		for _, line := range batch {
			id := traceID(line)
			if spans, ok := b.traces[string(id)]; ok {
				b.traces[string(id)] = append(spans, line)
			} else {
				b.traces[string(id)] = [][]byte{line}
			}
		}
		b.received[name] += int64(len(batch))
		b.mu.Unlock()
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.idsSince(w, r)
}

// handleSync answers once both clients have reported all their error ids.
func (b *backend) handleSync(w http.ResponseWriter, r *http.Request) {
	name, err := clientParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.synced[name] = true
	b.cond.Broadcast()
	for len(b.synced) < len(clientNames) {
		b.cond.Wait()
	}
	b.idsSince(w, r)
}

func (b *backend) handleDone(w http.ResponseWriter, r *http.Request) {
	name, err := clientParam(r)
	if err == nil {
		var n int64
		n, err = strconv.ParseInt(r.URL.Query().Get("lines"), 10, 64)
		if err == nil {
			b.mu.Lock()
			b.claimed[name] = n
			all := len(b.claimed) == len(clientNames)
			b.mu.Unlock()
			if all {
				go func() { b.finished <- b.finish() }()
			}
		}
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	io.WriteString(w, "ok\n")
}

// finish checks nothing was lost, computes the checksums and reports to score.
// A failure is reported to score too, so the run fails at once instead of timing out.
func (b *backend) finish() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out strings.Builder
	var failure error
	for _, c := range clientNames {
		if b.received[c] != b.claimed[c] {
			failure = fmt.Errorf("%s sent %d span lines, %d arrived", c, b.claimed[c], b.received[c])
			fmt.Fprintf(&out, "#error %v\n", failure)
		}
	}
	t0 := time.Now()
	ids := append([]string(nil), b.errList...)
	sort.Strings(ids)
	for i, id := range ids {
		sum := checksum(b.traces[id])
		if b.cfg.corrupt && i == 0 {
			sum = strings.Repeat("0", len(sum)) // TRACELOG_CORRUPT=1: a deliberately wrong answer
		}
		out.WriteString(id)
		out.WriteByte(' ')
		out.WriteString(sum)
		out.WriteByte('\n')
	}
	log.Printf("%d requests, %d spans of %d erroneous traces; checksums in %.3fs",
		b.requests, b.received["c1"]+b.received["c2"], len(ids), time.Since(t0).Seconds())
	resp, err := do(b.cfg.peerWait, func() (*http.Request, error) {
		return http.NewRequest(http.MethodPost, "http://"+b.cfg.scoreAddr+"/result", strings.NewReader(out.String()))
	})
	if err != nil {
		return fmt.Errorf("report to score: %v", err)
	}
	resp.Body.Close()
	return failure
}

func runBackend(cfg config) error {
	b := newBackend(cfg)
	mux := http.NewServeMux()
	mux.HandleFunc("/spans", b.handleSpans)
	mux.HandleFunc("/sync", b.handleSync)
	mux.HandleFunc("/done", b.handleDone)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srvErr := make(chan error, 1)
	go func() { srvErr <- serve(ctx, cfg.listen, mux) }()
	select {
	case err := <-b.finished:
		return err
	case err := <-srvErr:
		return err
	}
}
