package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/sse"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

// TestSSE runs the object phases with --sse against an encrypting
// gateway: every write is answered as encrypted in the mode asked, and
// every read verifies its body.
func TestSSE(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	kr, err := sse.ParseKeyring([]byte("1 " + strings.Repeat("5a", 32)))
	if err != nil {
		t.Fatal(err)
	}
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: "us-east-1",
		Encryption: kr, SSECPlainHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	var writes, encrypted atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r)
		if r.Method == http.MethodPut && !strings.HasSuffix(r.URL.Path, "/bench") {
			writes.Add(1)
			if w.Header().Get("x-amz-server-side-encryption") == "AES256" || w.Header().Get("x-amz-server-side-encryption-customer-algorithm") == "AES256" {
				encrypted.Add(1)
			}
		}
	}))
	defer srv.Close()
	for _, mode := range []string{sseS3, sseC} {
		t.Run(mode, func(t *testing.T) {
			writes.Store(0)
			encrypted.Store(0)
			cfg := testConfig(srv.URL)
			cfg.SSE, cfg.Prefix, cfg.Payload = mode, mode+"/", payloadChunked
			cfg.Phases = []string{phasePut, phaseGet, phaseHead, phaseMultipart, phaseGet, phaseDelete}
			results, err := Run(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			if results[1].Verified != 20 || results[4].Verified != 20 {
				t.Errorf("verified reads: %d and %d, want 20 each", results[1].Verified, results[4].Verified)
			}
			if writes.Load() < 40 || encrypted.Load() != writes.Load() {
				t.Errorf("%d of %d object and part writes answered as encrypted", encrypted.Load(), writes.Load())
			}
		})
	}
}
