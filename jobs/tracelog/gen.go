package main

// Deterministic synthetic trace log. Both halves are sorted by start time and
// a service's spans always go to the same half, so most traces are split
// across the two halves, like the contest's two data files.

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// Named workload sizes (total bytes of both halves).
var namedSizes = map[string]int64{
	"small": 128 << 20,
	"large": 256 << 20,
}

// errorRate is the fraction of traces that get one error span: high enough
// that sending spans to the backend is a real share of the work.
const errorRate = 0.20

// spreadMicros bounds how far a span starts after its trace; with a trace
// every ~50 µs, a trace's spans lie within some thousands of lines.
const spreadMicros = 200_000

type dataset struct {
	halves   [2][]byte
	expected map[string]string // trace id → checksum, erroneous traces only
	traces   int
	spans    int
}

// parseSize reads "small", "large", or a byte count with an optional k/m/g suffix (powers of 1024).
func parseSize(s string) (int64, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if n, ok := namedSizes[s]; ok {
		return n, nil
	}
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		}
		if mult > 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad DATA_SIZE %q: want small, large or a size like 20m", s)
	}
	return n * mult, nil
}

// rng is splitmix64: tiny, fast, and stable across Go versions (math/rand's
// stream is not a documented promise).
type rng struct{ s uint64 }

func (r *rng) next() uint64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

func (r *rng) intn(n int) int         { return int(r.next() % uint64(n)) }
func (r *rng) float() float64         { return float64(r.next()>>11) / (1 << 53) }
func (r *rng) pick(s []string) string { return s[r.intn(len(s))] }

func appendHex(b []byte, v uint64) []byte {
	const digits = "0123456789abcdef"
	for i := 60; i >= 0; i -= 4 {
		b = append(b, digits[(v>>uint(i))&0xf])
	}
	return b
}

type service struct {
	name, host string
	ops        []string
	http       bool
}

var services = []service{
	{"frontend", "10.0.1.11", []string{"GET /", "GET /product", "POST /cart", "POST /checkout"}, true},
	{"cartservice", "10.0.1.12", []string{"GetCart", "AddItem", "EmptyCart"}, true},
	{"checkoutservice", "10.0.1.13", []string{"PlaceOrder", "PrepareOrder"}, true},
	{"paymentservice", "10.0.1.14", []string{"Charge", "Refund"}, true},
	{"shippingservice", "10.0.1.15", []string{"GetQuote", "ShipOrder"}, true},
	{"currencyservice", "10.0.1.16", []string{"Convert", "GetSupportedCurrencies"}, true},
	{"redis", "10.0.1.17", []string{"HGET", "HSET", "EXPIRE"}, false},
	{"mysql", "10.0.1.18", []string{"SELECT orders", "INSERT orders", "UPDATE stock"}, false},
	{"emailservice", "10.0.1.19", []string{"SendOrderConfirmation"}, true},
	{"adservice", "10.0.1.20", []string{"GetAds"}, true},
}

// halfOf: a service's spans all land in one half (services alternate).
func halfOf(svc int) int { return svc % 2 }

func appendTags(b []byte, r *rng, svc service, isErr bool) []byte {
	if svc.http {
		b = append(b, "component=http&span.kind=server&http.method=GET&http.status_code="...)
		switch {
		case !isErr:
			b = append(b, "200"...)
		case r.intn(2) == 0:
			b = append(b, "500"...)
		default:
			b = append(b, "503"...)
		}
	} else {
		b = append(b, "component=db&db.type=sql&span.kind=client"...)
		if isErr {
			b = append(b, "&error=1"...)
		}
	}
	// Decoys: tags that look like errors but are not.
	switch r.intn(8) {
	case 0:
		b = append(b, "&error=0"...)
	case 1:
		b = append(b, "&db.error=1"...)
	}
	b = append(b, "&ip=10.0.3."...)
	b = strconv.AppendInt(b, int64(r.intn(250)), 10)
	b = append(b, "&peer.port=8080"...)
	return b
}

// generate builds a dataset of about size bytes; the same (size, seed) gives
// the same bytes.
func generate(size int64, seed uint64) *dataset {
	r := &rng{s: seed}
	ds := &dataset{expected: map[string]string{}}
	type rec struct {
		start    int64
		off, end int
		half     int
	}
	arena := make([]byte, 0, size+size/16)
	var recs []rec
	var traceLines [][]byte
	t := int64(1590624000_000000) // 2020-05-28, microseconds
	for int64(len(arena)) < size {
		t += 1 + int64(r.intn(100))
		id := appendHex(nil, r.next())
		n := 2 + r.intn(11)
		errAt := -1
		if r.float() < errorRate {
			errAt = r.intn(n)
		}
		parent := uint64(0)
		traceLines = traceLines[:0]
		for s := 0; s < n; s++ {
			svcIdx := r.intn(len(services))
			svc := services[svcIdx]
			start := t + int64(r.intn(spreadMicros))
			spanID := r.next()
			off := len(arena)
			arena = append(arena, id...)
			arena = append(arena, '|')
			arena = strconv.AppendInt(arena, start, 10)
			arena = append(arena, '|')
			arena = appendHex(arena, spanID)
			arena = append(arena, '|')
			if parent != 0 {
				arena = appendHex(arena, parent)
			}
			arena = append(arena, '|')
			arena = strconv.AppendInt(arena, int64(1+r.intn(5000)), 10)
			arena = append(arena, '|')
			arena = append(arena, svc.name...)
			arena = append(arena, '|')
			arena = append(arena, r.pick(svc.ops)...)
			arena = append(arena, '|')
			arena = append(arena, svc.host...)
			arena = append(arena, '|')
			arena = appendTags(arena, r, svc, s == errAt)
			recs = append(recs, rec{start, off, len(arena), halfOf(svcIdx)})
			traceLines = append(traceLines, arena[off:len(arena):len(arena)])
			parent = spanID
		}
		if errAt >= 0 {
			// traceLines alias the arena, which may move on a later append,
			// but checksum reads them right now.
			ds.expected[string(id)] = checksum(traceLines)
		}
		ds.traces++
		ds.spans += n
	}
	sort.Slice(recs, func(i, j int) bool {
		if recs[i].start != recs[j].start {
			return recs[i].start < recs[j].start
		}
		return recs[i].off < recs[j].off
	})
	var sizes [2]int
	for _, rc := range recs {
		sizes[rc.half] += rc.end - rc.off + 1
	}
	for h := range ds.halves {
		ds.halves[h] = make([]byte, 0, sizes[h])
	}
	for _, rc := range recs {
		ds.halves[rc.half] = append(append(ds.halves[rc.half], arena[rc.off:rc.end]...), '\n')
	}
	return ds
}

// partRange splits data into parts pieces on line boundaries: part k is
// data[start:end]. Every line belongs to exactly one part.
func partRange(data []byte, k, parts int) (start, end int) {
	cut := func(i int) int {
		if i <= 0 {
			return 0
		}
		pos := len(data) * i / parts
		if pos >= len(data) {
			return len(data)
		}
		// The part boundary moves to just after the next newline at or past pos-1,
		// so a line that straddles pos goes to the earlier part.
		for pos < len(data) && data[pos-1] != '\n' {
			pos++
		}
		return pos
	}
	return cut(k), cut(k + 1)
}
