package gateway

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDecodeTags: x-amz-tagging as a query string, and the work a header
// of many tags makes is linear in its size (a 1 MiB header of distinct
// names used to take minutes of CPU comparing every pair).
func TestDecodeTags(t *testing.T) {
	var many strings.Builder
	for i := 0; many.Len() < 1<<20; i++ {
		many.WriteString("k" + strconv.Itoa(i) + "&")
	}
	for _, c := range []struct {
		name, in string
		want     int // tags; -1: errTaggingEncoding
	}{
		{"empty", "", 0},
		{"only separators", "&&&", 0},
		{"two", "a=1&&b=2", 2},
		{"no value", "a", 1},
		{"nameless", "=v", -1},
		{"repeated", "a=1&b=2&a=3", -1},
		{"bad escape", "a=%zz", -1},
		{"1 MiB of distinct names", many.String(), strings.Count(many.String(), "&")},
		{"1 MiB then a repeat", many.String() + "k0", -1},
	} {
		start := time.Now()
		tags, err := decodeTags(c.in)
		switch {
		case c.want < 0 && err != errTaggingEncoding:
			t.Errorf("%s: %v, want errTaggingEncoding", c.name, err)
		case c.want >= 0 && (err != nil || len(tags) != c.want):
			t.Errorf("%s: %d tags, %v; want %d", c.name, len(tags), err, c.want)
		}
		// A generous bound: linear work takes milliseconds, the quadratic
		// took minutes.
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("%s: decoding took %v", c.name, d)
		}
	}
}
