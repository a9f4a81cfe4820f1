package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/sigv4"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

// BenchmarkAuthorizePolicy measures what the bucket policy adds to a
// signed request (authorizePolicy: one configuration read, the parsed
// policy from the cache, its evaluation), without and with a policy.
func BenchmarkAuthorizePolicy(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if err := st.CreateBucket(ctx, "bkt"); err != nil {
		b.Fatal(err)
	}
	ord := &order.Order{ID: "o1", Keys: []order.Key{{AccessKey: "ak", SecretKey: "sk"}}}
	h, err := New(Options{Store: st, Order: ord})
	if err != nil {
		b.Fatal(err)
	}
	run := func(b *testing.B, r *http.Request) {
		rt := h.route(r, "bkt", "public/a.png")
		for b.Loop() {
			rc := &reqContext{bucket: "bkt", key: "public/a.png", ord: ord, auth: &sigv4.Auth{AccessKey: "ak"}, route: rt, op: rt.op}
			if err := h.authorizePolicy(r, rc); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("no policy", func(b *testing.B) { run(b, httptest.NewRequest("GET", "/bkt/public/a.png", nil)) })
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::bkt/public/*"},
		{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::bkt/*","Condition":{"NotIpAddress":{"aws:SourceIp":["192.0.2.0/24","198.51.100.0/24"]}}}]}`
	if err := st.PutBucketConfig(ctx, "bkt", store.ConfigPolicy, []byte(doc)); err != nil {
		b.Fatal(err)
	}
	b.Run("policy", func(b *testing.B) {
		r := httptest.NewRequest("GET", "/bkt/public/a.png", nil)
		r.RemoteAddr = "192.0.2.7:1234"
		run(b, r)
	})
}
