package sigv4

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// manyHeadersRequest is the pre-authentication attack of issue 12: a
// header block of n x-amz-* headers, every one listed in SignedHeaders
// (in reverse order, the worst case of a scan), with a wrong signature and
// only the access key id right. extra names an unsigned header to add ("":
// none).
func manyHeadersRequest(n int, extra string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://example.com/b/k", nil)
	names := []string{"host"}
	for i := range n {
		name := fmt.Sprintf("x-amz-meta-h%05d", i)
		r.Header.Set(name, "v")
		names = append(names, fmt.Sprintf("x-amz-meta-h%05d", n-1-i))
	}
	if extra != "" {
		r.Header.Set(extra, "v")
	}
	r.Header.Set("X-Amz-Date", now0.Format(amzDateLayout))
	r.Header.Set("X-Amz-Content-Sha256", UnsignedPayload)
	r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+testAK+"/"+now0.Format(dayLayout)+
		"/us-east-1/s3/aws4_request, SignedHeaders="+strings.Join(names, ";")+", Signature="+strings.Repeat("0", 64))
	return r
}

func headerBytes(r *http.Request) int {
	n := 0
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// TestManyHeaders checks the unsigned-header check on a large header block:
// every header signed passes it (and fails on the signature), one unsigned
// header among thousands is named.
func TestManyHeaders(t *testing.T) {
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: func() time.Time { return now0 }}
	for _, tc := range []struct {
		extra string
		want  string
	}{
		{"", "SignatureDoesNotMatch"},
		{"X-Amz-Unsigned", "AccessDenied"},
	} {
		r := manyHeadersRequest(3000, tc.extra)
		_, err := v.Verify(r)
		var e *s3err.Error
		if !errors.As(err, &e) || e.Code != tc.want {
			t.Fatalf("extra %q: err = %v, want %s", tc.extra, err, tc.want)
		}
		if tc.extra != "" && !strings.Contains(e.Message, strings.ToLower(tc.extra)) {
			t.Errorf("message %q does not name %s", e.Message, tc.extra)
		}
	}
}

// BenchmarkManyHeaders is the CPU one such request costs before the
// signature is known to be wrong; it grows linearly with the header block
// (compare the sizes: ns/op per header stays flat).
func BenchmarkManyHeaders(b *testing.B) {
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: func() time.Time { return now0 }}
	for _, n := range []int{250, 1450, 2500} {
		r := manyHeadersRequest(n, "")
		b.Run(fmt.Sprintf("headers=%d/bytes=%d", n, headerBytes(r)), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.Verify(r); err == nil {
					b.Fatal("verified")
				}
			}
		})
	}
}
