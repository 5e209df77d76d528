// Command tracelog is the demo system that `tuner` tunes: a small version of
// the 2020 tracing-log contest (two clients, a backend, a scorer).
//
//	tracelog score|c1|c2|b     (or env ROLE)
//
// score generates a trace log and serves one half to each client; c1 and c2
// find the spans of erroneous traces and send them to b in batches; b computes
// one checksum per erroneous trace and reports to score, which checks the
// answer and prints "total <seconds>s". Every role serves net/http/pprof on :6060.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"strconv"
	"time"
)

type config struct {
	numChunk    int    // NUM_CHUNK: parallel chunks per client
	batchSize   int    // BATCH_SIZE: span lines per batch
	batchPerReq int    // BATCH_PER_REQ: batches per HTTP request
	dataSize    string // DATA_SIZE: small, large, or e.g. 20m
	seed        uint64 // DATA_SEED
	scoreAddr   string // SCORE_ADDR, default score:8000
	backendAddr string // BACKEND_ADDR, default b:8000
	listen      string // LISTEN, default :8000 (score and b)
	outDir      string // OUT, default /out when it exists
	corrupt     bool   // TRACELOG_CORRUPT=1 on b: send one wrong checksum
	peerWait    time.Duration
}

func envInt(name string, def, min int) (int, error) {
	s := os.Getenv(name)
	if s == "" {
		return def, nil
	}
	v, err := strconv.Atoi(s)
	if err != nil || v < min {
		return 0, fmt.Errorf("bad %s=%q: want an integer >= %d", name, s, min)
	}
	return v, nil
}

func envStr(name, def string) string {
	if s := os.Getenv(name); s != "" {
		return s
	}
	return def
}

func loadConfig() (config, error) {
	c := config{
		dataSize:    envStr("DATA_SIZE", "small"),
		scoreAddr:   envStr("SCORE_ADDR", "score:8000"),
		backendAddr: envStr("BACKEND_ADDR", "b:8000"),
		listen:      envStr("LISTEN", ":8000"),
		outDir:      os.Getenv("OUT"),
		corrupt:     os.Getenv("TRACELOG_CORRUPT") == "1",
		peerWait:    30 * time.Second,
	}
	var err error
	if c.numChunk, err = envInt("NUM_CHUNK", 4, 1); err != nil {
		return c, err
	}
	if c.batchSize, err = envInt("BATCH_SIZE", 2000, 1); err != nil {
		return c, err
	}
	if c.batchPerReq, err = envInt("BATCH_PER_REQ", 4, 1); err != nil {
		return c, err
	}
	seed, err := envInt("DATA_SEED", 2020, 0)
	if err != nil {
		return c, err
	}
	c.seed = uint64(seed)
	if c.outDir == "" {
		if st, err := os.Stat("/out"); err == nil && st.IsDir() {
			c.outDir = "/out"
		}
	}
	return c, nil
}

func main() {
	role := os.Getenv("ROLE")
	if len(os.Args) > 1 {
		role = os.Args[1]
	}
	log.SetFlags(log.Lmicroseconds)
	log.SetPrefix(role + " ")
	cfg, err := loadConfig()
	if err != nil {
		log.Fatal(err)
	}
	go func() {
		// pprof is optional: a busy port must not fail the trial.
		if err := http.ListenAndServe(":6060", nil); err != nil {
			log.Printf("pprof: %v", err)
		}
	}()
	log.Printf("NUM_CHUNK=%d BATCH_SIZE=%d BATCH_PER_REQ=%d DATA_SIZE=%s",
		cfg.numChunk, cfg.batchSize, cfg.batchPerReq, cfg.dataSize)
	switch role {
	case "score":
		err = runScore(cfg)
	case "c1", "c2":
		err = runClient(cfg, role)
	case "b":
		err = runBackend(cfg)
	default:
		fmt.Fprintln(os.Stderr, "usage: tracelog score|c1|c2|b  (or env ROLE)")
		os.Exit(2)
	}
	if err != nil {
		log.Printf("error: %v", err)
		os.Exit(1)
	}
	// A service stays up after its work, as services do: a profiler reading a CPU window
	// over pprof gets it whole. TRACELOG_LINGER is in seconds; 0 (the default) exits at once.
	if linger, _ := envInt("TRACELOG_LINGER", 0, 0); linger > 0 {
		time.Sleep(time.Duration(linger) * time.Second)
	}
}

// httpClient keeps enough idle connections for every chunk's sender, so
// requests reuse connections instead of paying a TCP handshake each.
var httpClient = &http.Client{Transport: &http.Transport{
	Proxy:               nil,
	MaxIdleConns:        64,
	MaxIdleConnsPerHost: 32,
	IdleConnTimeout:     30 * time.Second,
	DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
}}

// isDialError: the peer is not up yet (no DNS name, connection refused), so
// the request never reached it and is safe to repeat.
func isDialError(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// do sends a request built by mk, retrying for up to wait while the peer is
// not reachable yet (containers start at about the same time). Non-2xx
// answers are errors.
func do(wait time.Duration, mk func() (*http.Request, error)) (*http.Response, error) {
	deadline := time.Now().Add(wait)
	delay := 20 * time.Millisecond
	for {
		req, err := mk()
		if err != nil {
			return nil, err
		}
		resp, err := httpClient.Do(req)
		if err == nil {
			if resp.StatusCode/100 != 2 {
				defer resp.Body.Close()
				msg := make([]byte, 512)
				n, _ := resp.Body.Read(msg)
				return nil, fmt.Errorf("%s %s: %s: %s", req.Method, req.URL, resp.Status, msg[:n])
			}
			return resp, nil
		}
		if !isDialError(err) || time.Now().After(deadline) {
			return nil, err
		}
		time.Sleep(delay)
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
}

// serve runs an HTTP server until ctx ends.
func serve(ctx context.Context, addr string, h http.Handler) error {
	srv := &http.Server{Addr: addr, Handler: h}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
