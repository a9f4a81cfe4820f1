package gateway

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/s3err"
)

func TestStripAWSChunked(t *testing.T) {
	for _, c := range []struct {
		in   []string
		want string
	}{
		{[]string{"aws-chunked"}, ""},
		{[]string{"AWS-Chunked"}, ""},
		{[]string{"aws-chunked,gzip"}, "gzip"},
		{[]string{"gzip, aws-chunked"}, "gzip"},
		{[]string{"aws-chunked, deflate, gzip"}, "deflate, gzip"},
		{[]string{"deflate, aws-chunked, gzip"}, "deflate, gzip"},
		{[]string{"deflate,gzip"}, "deflate,gzip"},
		{[]string{"aws-chunked", "gzip, br"}, "gzip, br"},
		{[]string{"gzip"}, "gzip"},
		{[]string{""}, ""},
	} {
		if got := stripAWSChunked(c.in); got != c.want {
			t.Errorf("%q → %q, want %q", c.in, got, c.want)
		}
	}
}

// TestMetadataLimits: user metadata is limited to 2 KB and the whole
// metadata (system headers included) to 8 KB, as AWS limits them.
func TestMetadataLimits(t *testing.T) {
	for _, c := range []struct {
		name string
		hdr  map[string]string
		ok   bool
	}{
		{"2 KB of user metadata", map[string]string{"x-amz-meta-k": strings.Repeat("v", 2048-1)}, true},
		{"user metadata one byte over", map[string]string{"x-amz-meta-k": strings.Repeat("v", 2048)}, false},
		{"8 KB in all", map[string]string{"Content-Type": strings.Repeat("t", 4096), "Content-Disposition": strings.Repeat("d", 2048),
			"x-amz-meta-k": strings.Repeat("v", 2047)}, true},
		{"one byte over 8 KB", map[string]string{"Content-Type": strings.Repeat("t", 4096), "Content-Disposition": strings.Repeat("d", 2049),
			"x-amz-meta-k": strings.Repeat("v", 2047)}, false},
		{"57 KB of Content-Type", map[string]string{"Content-Type": strings.Repeat("t", 57<<10)}, false},
		{"Cache-Control and Expires", map[string]string{"Cache-Control": strings.Repeat("c", 5000), "Expires": strings.Repeat("e", 5000)}, false},
	} {
		hdr := http.Header{}
		for k, v := range c.hdr {
			hdr.Set(k, v)
		}
		_, err := metadataFromRequest(hdr)
		var se *s3err.Error
		switch {
		case c.ok && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case !c.ok && (!errors.As(err, &se) || se.Code != "MetadataTooLarge" || se.Status != http.StatusBadRequest):
			t.Errorf("%s: err = %v, want 400 MetadataTooLarge", c.name, err)
		}
	}
}
