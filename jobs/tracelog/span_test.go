package main

import (
	"crypto/md5"
	"encoding/hex"
	"testing"
)

func TestTraceIDAndStartTime(t *testing.T) {
	line := []byte("abc123|1590624000000123|s1|p1|10|svc|op|host|error=1")
	if got := string(traceID(line)); got != "abc123" {
		t.Errorf("traceID = %q", got)
	}
	if got := startTime(line); got != 1590624000000123 {
		t.Errorf("startTime = %d", got)
	}
	if got := startTime([]byte("x|notanumber|y")); got != -1 {
		t.Errorf("startTime of a bad line = %d, want -1", got)
	}
}

func TestIsErrorSpan(t *testing.T) {
	cases := map[string]bool{
		"t|1|s||5|svc|op|h|component=http&http.status_code=200":            false,
		"t|1|s||5|svc|op|h|component=http&http.status_code=500":            true,
		"t|1|s||5|svc|op|h|http.status_code=503&ip=1.2.3.4":                true,
		"t|1|s||5|svc|op|h|component=db&error=1":                           true,
		"t|1|s||5|svc|op|h|error=1":                                        true,
		"t|1|s||5|svc|op|h|component=db&error=0":                           false,
		"t|1|s||5|svc|op|h|component=db&db.error=1":                        false, // key must match exactly
		"t|1|s||5|svc|op|h|http.status_code=2000":                          true,
		"t|1|s||5|svc|op|h|xhttp.status_code=500&error=10":                 false,
		"t|1|s||5|svc|op|h|":                                               false,
		"t|1|s||5|svc|op|h|component=http&http.status_code=200&error=1&x=": true,
	}
	for line, want := range cases {
		if got := isErrorSpan([]byte(line)); got != want {
			t.Errorf("isErrorSpan(%q) = %v, want %v", line, got, want)
		}
	}
}

func TestChecksumSortsByStartTimeThenLine(t *testing.T) {
	a := "t|100|a||1|s|o|h|error=1"
	b := "t|20|b||1|s|o|h|"  // earliest: 20 < 100 numerically, though "20" > "100" as text
	c := "t|100|0||1|s|o|h|" // same start as a, smaller line
	sum := md5.Sum([]byte(b + "\n" + c + "\n" + a + "\n"))
	want := hex.EncodeToString(sum[:])
	for _, order := range [][]string{{a, b, c}, {c, b, a}, {b, a, c}} {
		lines := make([][]byte, len(order))
		for i, s := range order {
			lines[i] = []byte(s)
		}
		if got := checksum(lines); got != want {
			t.Errorf("checksum(%q) = %s, want %s", order, got, want)
		}
	}
	if checksum([][]byte{[]byte(a)}) == checksum([][]byte{[]byte(a), []byte(b)}) {
		t.Error("a missing span must change the checksum")
	}
}
