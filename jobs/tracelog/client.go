package main

// A client streams its half of the log from score in NUM_CHUNK parallel
// parts. Each part's worker groups spans by trace id and sends a trace's
// spans to the backend as soon as the trace is known to be erroneous: found
// here (an error span in this part), or learned from the backend, which
// answers every request with the error ids reported since (by both clients).
// Spans of a trace already sent go straight out. After parsing, a sync with
// the backend gives the final union of error ids, so traces whose error span
// is in the other half (or in a part parsed later) are never missed.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

const readBlock = 1 << 20 // bytes read from score at a time

// checkEvery is the number of lines between looks at newly known error ids
// (a variable so tests can exercise the mid-stream path on small data).
var checkEvery = 4096

type client struct {
	cfg  config
	name string
	half int

	mu       sync.Mutex
	known    []string // erroneous trace ids known here, in arrival order
	knownSet map[string]bool
	since    int64 // atomic: length of the backend's id list already learned

	sent     int64     // atomic: span lines sent
	requests int64     // atomic
	latency  latencies // per request: from its oldest line's batching to b's answer
	parsed   int64     // atomic: bytes of the half parsed so far
	size     int64     // atomic: bytes of the half, as the parts' answers announce them
	parts    int64     // atomic: parts whose answer has arrived

	firstByte sync.Once
	t0        time.Time // when the first data arrived

	errMu sync.Mutex
	err   error // the first failure of any worker or sender
}

func (c *client) fail(err error) {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if c.err == nil {
		c.err = err
	}
}

func (c *client) failure() error {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return c.err
}

// learn adds ids to the client-wide list that every worker catches up on.
func (c *client) learn(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, id := range ids {
		if !c.knownSet[id] {
			c.knownSet[id] = true
			c.known = append(c.known, id)
		}
	}
}

func (c *client) knownFrom(i int) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.known[i:len(c.known):len(c.known)]
}

// post sends to the backend and learns the error ids in its answer:
// a first line with the backend's list length, then one id per line.
func (c *client) post(path string, body []byte) error {
	u := fmt.Sprintf("http://%s%s?client=%s&since=%d", c.cfg.backendAddr, path, c.name, atomic.LoadInt64(&c.since))
	resp, err := do(c.cfg.peerWait, func() (*http.Request, error) {
		return http.NewRequest(http.MethodPost, u, bytes.NewReader(body))
	})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	if !sc.Scan() {
		return fmt.Errorf("%s: empty answer", path)
	}
	total, err := strconv.ParseInt(sc.Text(), 10, 64)
	if err != nil {
		return fmt.Errorf("%s: bad answer %q", path, sc.Text())
	}
	var ids []string
	for sc.Scan() {
		ids = append(ids, sc.Text())
	}
	if err := sc.Err(); err != nil {
		return err
	}
	c.learn(ids)
	for {
		old := atomic.LoadInt64(&c.since)
		if total <= old || atomic.CompareAndSwapInt64(&c.since, old, total) {
			break
		}
	}
	return nil
}

type trace struct {
	lines [][]byte // not yet sent
	sent  bool     // erroneous: spans go out as they come
}

type worker struct {
	c      *client
	part   int
	traces map[string]*trace
	cursor int // into c.known
	out    *batcher
}

// A worker sends its own requests and waits for each answer: while it waits
// it does not parse, so parallel chunks are what keeps a client busy.
func newWorker(c *client, part int) *worker {
	w := &worker{c: c, part: part, traces: map[string]*trace{}}
	w.out = newBatcher(c.cfg.batchSize, c.cfg.batchPerReq, func(body []byte) {
		if err := c.post("/spans", body); err != nil {
			c.fail(fmt.Errorf("part %d: send spans: %v", part, err))
		}
		atomic.AddInt64(&c.requests, 1)
		// Delivery latency: batching makes a span wait for its batch to fill, then for
		// the request; bigger batches mean fewer requests and longer waits.
		if !w.out.sending.IsZero() {
			c.latency.add(time.Since(w.out.sending))
		}
	})
	return w
}

func (w *worker) sendTrace(t *trace) {
	for _, l := range t.lines {
		w.out.add(l)
	}
	atomic.AddInt64(&w.c.sent, int64(len(t.lines)))
	t.lines = nil
	t.sent = true
}

func (w *worker) handle(line []byte) {
	if len(line) == 0 {
		return
	}
	id := traceID(line)
	t := w.traces[string(id)]
	if t == nil {
		t = &trace{}
		w.traces[string(id)] = t
	}
	if t.sent {
		w.out.add(line)
		atomic.AddInt64(&w.c.sent, 1)
		return
	}
	t.lines = append(t.lines, line)
	if isErrorSpan(line) {
		sid := string(id)
		w.c.learn([]string{sid})
		w.out.ids = append(w.out.ids, sid)
		w.sendTrace(t)
	}
}

// catchUp sends the traces that became known erroneous since the last look.
// Ids not seen yet are remembered as sent, so their later spans go straight out.
func (w *worker) catchUp() {
	ids := w.c.knownFrom(w.cursor)
	w.cursor += len(ids)
	for _, id := range ids {
		t := w.traces[id]
		if t == nil {
			w.traces[id] = &trace{sent: true}
		} else if !t.sent {
			w.sendTrace(t)
		}
	}
}

// parse streams the worker's part from score.
func (w *worker) parse() error {
	u := fmt.Sprintf("http://%s/data/%d?part=%d&parts=%d", w.c.cfg.scoreAddr, w.c.half, w.part, w.c.cfg.numChunk)
	resp, err := do(w.c.cfg.peerWait, func() (*http.Request, error) { return http.NewRequest(http.MethodGet, u, nil) })
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	w.c.firstByte.Do(func() { w.c.t0 = time.Now() })
	atomic.AddInt64(&w.c.size, resp.ContentLength)
	atomic.AddInt64(&w.c.parts, 1)
	var carry []byte
	n := 0
	for {
		// Lines alias the block they were read into: no copy, the blocks stay alive.
		buf := make([]byte, readBlock+len(carry))
		k := copy(buf, carry)
		m, err := io.ReadFull(resp.Body, buf[k:])
		data := buf[:k+m]
		last := len(data)
		eof := err == io.EOF || err == io.ErrUnexpectedEOF
		if err != nil && !eof {
			return fmt.Errorf("read part %d: %v", w.part, err)
		}
		if !eof {
			last = bytes.LastIndexByte(data, '\n') + 1
		}
		for rest := data[:last]; len(rest) > 0; {
			i := bytes.IndexByte(rest, '\n')
			var line []byte
			if i < 0 {
				line, rest = rest, nil
			} else {
				line, rest = rest[:i], rest[i+1:]
			}
			w.handle(line)
			if n++; n%checkEvery == 0 {
				w.catchUp()
			}
		}
		atomic.AddInt64(&w.c.parsed, int64(last))
		if eof {
			return nil
		}
		carry = data[last:]
	}
}

func runClient(cfg config, name string) error {
	c := &client{cfg: cfg, name: name, half: 1, knownSet: map[string]bool{}}
	if name == "c2" {
		c.half = 2
	}
	workers := make([]*worker, cfg.numChunk)
	stop := make(chan struct{})
	printing := make(chan struct{})
	go func() { // throughput as the parse goes
		defer close(printing)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
				n, size := atomic.LoadInt64(&c.parsed), atomic.LoadInt64(&c.size)
				if n > 0 && atomic.LoadInt64(&c.parts) == int64(cfg.numChunk) && size > 0 {
					fmt.Println(progressLine(n, size, time.Since(c.t0)))
				}
			case <-stop:
				return
			}
		}
	}()
	var wg sync.WaitGroup
	for k := range workers {
		workers[k] = newWorker(c, k)
		wg.Add(1)
		go func(w *worker) {
			defer wg.Done()
			if err := w.parse(); err != nil {
				c.fail(err)
			}
		}(workers[k])
	}
	wg.Wait()
	close(stop)
	<-printing
	if err := c.failure(); err != nil {
		return err
	}
	tParsed := time.Since(c.t0)
	// Send everything known so far, then sync for the final union of error ids.
	drain := func() error {
		var wg sync.WaitGroup
		for _, w := range workers {
			wg.Add(1)
			go func(w *worker) {
				defer wg.Done()
				w.catchUp()
				w.out.flush()
			}(w)
		}
		wg.Wait()
		return c.failure()
	}
	if err := drain(); err != nil {
		return err
	}
	if err := c.post("/sync", nil); err != nil {
		return fmt.Errorf("sync: %v", err)
	}
	if err := drain(); err != nil {
		return err
	}
	u := fmt.Sprintf("http://%s/done?client=%s&lines=%d", cfg.backendAddr, name, atomic.LoadInt64(&c.sent))
	resp, err := do(cfg.peerWait, func() (*http.Request, error) { return http.NewRequest(http.MethodPost, u, nil) })
	if err != nil {
		return fmt.Errorf("done: %v", err)
	}
	resp.Body.Close()
	log.Printf("parsed in %.3fs, done in %.3fs: sent %d spans of %d erroneous traces in %d requests",
		tParsed.Seconds(), time.Since(c.t0).Seconds(), c.sent, len(c.known), c.requests)
	fmt.Println(c.latency.line())
	return nil
}
