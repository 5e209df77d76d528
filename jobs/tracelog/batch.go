package main

// Wire format of a POST /spans body, client → backend:
//
//	I <traceId> <traceId> ...\n     optional: erroneous trace ids the client found itself
//	B <n>\n<n span lines>           one batch; perReq of them per request (fewer at the end)
//
// The backend takes its lock once per batch, so the batch is the unit of
// merging and the request is the unit of transfer.

import (
	"bytes"
	"fmt"
	"strconv"
	"time"
)

// batcher collects span lines into batches of size lines and hands a request
// body to send every perReq batches.
type batcher struct {
	size, perReq int
	send         func(body []byte)

	ids     []string  // reported with the next request
	body    []byte    // closed batches of the pending request
	batch   []byte    // lines of the open batch
	lines   int       // lines in the open batch
	batches int       // closed batches in body
	first   time.Time // when the oldest line of the pending request was added
	sending time.Time // first of the request being sent: its lines waited since
}

func newBatcher(size, perReq int, send func([]byte)) *batcher {
	return &batcher{size: size, perReq: perReq, send: send}
}

func (b *batcher) add(line []byte) {
	if b.first.IsZero() {
		b.first = time.Now()
	}
	b.batch = append(append(b.batch, line...), '\n')
	b.lines++
	if b.lines == b.size {
		b.closeBatch()
		if b.batches == b.perReq {
			b.emit()
		}
	}
}

func (b *batcher) closeBatch() {
	b.body = append(b.body, 'B', ' ')
	b.body = strconv.AppendInt(b.body, int64(b.lines), 10)
	b.body = append(append(b.body, '\n'), b.batch...)
	b.batch = b.batch[:0]
	b.lines = 0
	b.batches++
}

// flush sends whatever is pending: a partial batch, or ids alone.
func (b *batcher) flush() {
	if b.lines > 0 {
		b.closeBatch()
	}
	if b.batches > 0 || len(b.ids) > 0 {
		b.emit()
	}
}

func (b *batcher) emit() {
	var req []byte
	if len(b.ids) > 0 {
		n := 2
		for _, id := range b.ids {
			n += len(id) + 1
		}
		req = make([]byte, 0, n+len(b.body))
		req = append(req, 'I')
		for _, id := range b.ids {
			req = append(append(req, ' '), id...)
		}
		req = append(req, '\n')
		req = append(req, b.body...)
		b.ids = b.ids[:0]
	} else {
		req = b.body
	}
	// The body now belongs to the sender; start a new one.
	b.body = make([]byte, 0, cap(b.body))
	b.batches = 0
	b.sending, b.first = b.first, time.Time{}
	b.send(req)
}

// decodeSpans parses a request body. Batches and ids alias body.
func decodeSpans(body []byte) (ids [][]byte, batches [][][]byte, err error) {
	next := func() []byte {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			line := body
			body = nil
			return line
		}
		line := body[:i]
		body = body[i+1:]
		return line
	}
	if bytes.HasPrefix(body, []byte("I ")) {
		ids = bytes.Fields(next()[2:])
	}
	for len(body) > 0 {
		h := next()
		if !bytes.HasPrefix(h, []byte("B ")) {
			return nil, nil, fmt.Errorf("bad batch header %q", h)
		}
		n, err := strconv.Atoi(string(h[2:]))
		if err != nil || n < 0 {
			return nil, nil, fmt.Errorf("bad batch header %q", h)
		}
		batch := make([][]byte, 0, n)
		for i := 0; i < n; i++ {
			if len(body) == 0 {
				return nil, nil, fmt.Errorf("batch of %d lines ends after %d", n, i)
			}
			batch = append(batch, next())
		}
		batches = append(batches, batch)
	}
	return ids, batches, nil
}
