package upstream

import (
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
)

// TestSetCondQuotes: the gateway passes If-Match as
// the client sent it, quotes included (gateway/conditions.go
// writeConditions; it used to trim them). A single ETag is "simple" for
// pinCond and goes to minio-go's SetMatchETag, which adds its own quotes:
// the upstream receives If-Match: ""etag"". MinIO canonicalizes that, but
// an upstream comparing the value as RFC 9110 says (AWS S3, Ceph RGW, both
// documented upstreams) answers 412 to a conditional PUT/Complete whose
// ETag does match.
func TestSetCondQuotes(t *testing.T) {
	for _, sent := range []string{`"0123456789abcdef0123456789abcdef"`, `0123456789abcdef0123456789abcdef`} {
		cond, err := (*Store)(nil).pinCond(t.Context(), "b", "k", store.Conditions{IfMatch: sent})
		if err != nil {
			t.Fatal(err)
		}
		var o minio.PutObjectOptions
		setCond(&o, cond)
		if got, want := o.Header().Get("If-Match"), `"0123456789abcdef0123456789abcdef"`; got != want {
			t.Errorf("If-Match %s from the client is sent upstream as %s, want %s", sent, got, want)
		}
	}
}
