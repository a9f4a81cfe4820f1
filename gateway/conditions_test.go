package gateway

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

func TestParseRange(t *testing.T) {
	const size = 100
	for _, c := range []struct {
		hdr         string
		ok          bool
		off, length int64
		invalid     bool
	}{
		{"bytes=0-9", true, 0, 10, false},
		{"bytes=90-", true, 90, 10, false},
		{"bytes=-5", true, 95, 5, false},
		{"bytes=-500", true, 0, 100, false},
		{"bytes=50-1000", true, 50, 50, false},
		{"bytes=99-99", true, 99, 1, false},
		{"bytes=100-", true, 0, 0, true},
		{"bytes=-0", true, 0, 0, true},
		{"bytes=5-4", false, 0, 0, false},
		{"bytes=a-b", false, 0, 0, false},
		{"bytes=0-1,3-4", false, 0, 0, false},
		{"items=0-1", false, 0, 0, false},
		{"", false, 0, 0, false},
	} {
		br, ok := parseRange(c.hdr)
		if ok != c.ok {
			t.Errorf("%q: ok = %v", c.hdr, ok)
			continue
		}
		if !ok {
			continue
		}
		off, length, err := br.resolve(size)
		if c.invalid {
			if !errors.Is(err, s3err.InvalidRange) {
				t.Errorf("%q: err = %v, want InvalidRange", c.hdr, err)
			}
			continue
		}
		if err != nil || off != c.off || length != c.length {
			t.Errorf("%q: %d,%d,%v want %d,%d", c.hdr, off, length, err, c.off, c.length)
		}
	}
	if _, _, err := (byteRange{start: 0, end: -1}).resolve(0); !errors.Is(err, s3err.InvalidRange) {
		t.Errorf("range on empty object: %v", err)
	}
}

func TestConditionals(t *testing.T) {
	lm := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	o := &store.Object{ETag: "abc", LastModified: lm}
	before, after := lm.Add(-time.Hour).Format(http.TimeFormat), lm.Add(time.Hour).Format(http.TimeFormat)
	same := lm.Format(http.TimeFormat)
	for _, c := range []struct {
		hdr  map[string]string
		want error
	}{
		{nil, nil},
		{map[string]string{"If-Match": `"abc"`}, nil},
		{map[string]string{"If-Match": `"x", "abc"`}, nil},
		{map[string]string{"If-Match": "*"}, nil},
		{map[string]string{"If-Match": `"x"`}, s3err.PreconditionFailed},
		{map[string]string{"If-None-Match": `"abc"`}, s3err.NotModified},
		{map[string]string{"If-None-Match": `"x"`}, nil},
		{map[string]string{"If-Modified-Since": same}, s3err.NotModified},
		{map[string]string{"If-Modified-Since": before}, nil},
		{map[string]string{"If-Unmodified-Since": before}, s3err.PreconditionFailed},
		{map[string]string{"If-Unmodified-Since": after}, nil},
		// If-Match takes precedence over If-Unmodified-Since.
		{map[string]string{"If-Match": `"abc"`, "If-Unmodified-Since": before}, nil},
		// If-None-Match takes precedence over If-Modified-Since.
		{map[string]string{"If-None-Match": `"x"`, "If-Modified-Since": after}, nil},
		{map[string]string{"If-Modified-Since": "garbage"}, nil},
	} {
		hdr := http.Header{}
		for k, v := range c.hdr {
			hdr.Set(k, v)
		}
		err := parseConditionals(hdr, "").check(o, s3err.NotModified)
		if !errors.Is(err, c.want) && !(err == nil && c.want == nil) {
			t.Errorf("%v: err = %v, want %v", c.hdr, err, c.want)
		}
	}
}
