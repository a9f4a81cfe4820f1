package main

import (
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
)

// TestPprofLoopbackOnly: STORAGECLI_PPROF serves only on loopback
// addresses, and never the command line (which may hold the secret key).
func TestPprofLoopbackOnly(t *testing.T) {
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "10.1.2.3:0", "192.0.2.1:0", "[2001:db8::1]:0", "no-port"} {
		if ln, err := listenPprof(addr); err == nil {
			ln.Close()
			t.Errorf("%s: served", addr)
		}
	}
	for _, addr := range []string{"127.0.0.1:0", "localhost:0"} {
		ln, err := listenPprof(addr)
		if err != nil {
			t.Fatalf("%s: %v", addr, err)
		}
		ln.Close()
	}

	ln, err := listenPprof("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { _ = http.Serve(ln, pprofMux()) }()
	defer func(args []string) { os.Args = args }(os.Args)
	os.Args = append(os.Args[:len(os.Args):len(os.Args)], "--gateway.secret_key=TOPSECRETVALUE")
	base := "http://" + ln.Addr().String()
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/debug/pprof/cmdline"); code != http.StatusNotFound || strings.Contains(body, "TOPSECRET") {
		t.Errorf("cmdline: %d %q", code, body)
	}
	for _, p := range []string{"/debug/pprof/", "/debug/pprof/goroutine?debug=1", "/debug/pprof/heap?debug=1"} {
		code, body := get(p)
		if code != http.StatusOK || strings.Contains(body, "TOPSECRET") {
			t.Errorf("%s: %d (secret shown: %v)", p, code, strings.Contains(body, "TOPSECRET"))
		}
	}
}
