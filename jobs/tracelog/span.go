package main

// A span is one line of the trace log, in the contest's format:
//
//	traceId|startTime|spanId|parentSpanId|duration|serviceName|spanName|host|tags
//
// startTime is in microseconds; tags are key=value pairs joined by '&'.
// A trace is erroneous when any of its spans has the tag error=1 or an
// http.status_code other than 200.

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"sort"
)

// traceID returns the first field of a span line (the whole line if it has no '|').
func traceID(line []byte) []byte {
	if i := bytes.IndexByte(line, '|'); i >= 0 {
		return line[:i]
	}
	return line
}

// startTime parses the second field; malformed lines sort first (-1).
func startTime(line []byte) int64 {
	i := bytes.IndexByte(line, '|')
	if i < 0 {
		return -1
	}
	var v int64
	n := 0
	for _, c := range line[i+1:] {
		if c == '|' {
			break
		}
		if c < '0' || c > '9' {
			return -1
		}
		v = v*10 + int64(c-'0')
		n++
	}
	if n == 0 {
		return -1
	}
	return v
}

// isErrorSpan reports whether the span's tags mark an error. Keys must match
// exactly: "db.error=1" or "http.status_code=2000" are not errors.
func isErrorSpan(line []byte) bool {
	tags := line[bytes.LastIndexByte(line, '|')+1:]
	for len(tags) > 0 {
		tag := tags
		if i := bytes.IndexByte(tags, '&'); i >= 0 {
			tag, tags = tags[:i], tags[i+1:]
		} else {
			tags = nil
		}
		eq := bytes.IndexByte(tag, '=')
		if eq < 0 {
			continue
		}
		key, val := tag[:eq], tag[eq+1:]
		switch string(key) {
		case "error":
			if string(val) == "1" {
				return true
			}
		case "http.status_code":
			if string(val) != "200" {
				return true
			}
		}
	}
	return false
}

// checksum is the answer for one erroneous trace: the md5 (hex) of its spans
// sorted by start time (ties by the whole line, so the order is total),
// each followed by '\n'. It sorts lines in place.
func checksum(lines [][]byte) string {
	type span struct {
		start int64
		line  []byte
	}
	spans := make([]span, len(lines))
	for i, l := range lines {
		spans[i] = span{startTime(l), l}
	}
	sort.Slice(spans, func(i, j int) bool {
		if spans[i].start != spans[j].start {
			return spans[i].start < spans[j].start
		}
		return bytes.Compare(spans[i].line, spans[j].line) < 0
	})
	h := md5.New()
	for i, s := range spans {
		lines[i] = s.line
		h.Write(s.line)
		h.Write([]byte{'\n'})
	}
	return hex.EncodeToString(h.Sum(nil))
}
