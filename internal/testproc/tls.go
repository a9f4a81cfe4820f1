package testproc

import (
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// CaddyRootCA waits for the root certificate of Caddy's internal CA in
// its storage directory and returns its path and a pool with it.
func CaddyRootCA(t testing.TB, storage string) (string, *x509.CertPool) {
	t.Helper()
	path := filepath.Join(storage, "pki", "authorities", "local", "root.crt")
	var pem []byte
	err := Poll(nil, 20*time.Second, func() (err error) {
		pem, err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatalf("Caddy's root certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", path)
	}
	return path, pool
}

// TLSClient returns an HTTP client that trusts only pool and speaks HTTP/2
// when the server offers it.
func TLSClient(t testing.TB, pool *x509.CertPool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// WaitHTTP waits until url answers (any status) with client, or p exits,
// and returns the answer (its body read and closed).
func WaitHTTP(t testing.TB, p *Proc, client *http.Client, url string) *http.Response {
	t.Helper()
	var resp *http.Response
	err := Poll(p, 30*time.Second, func() (err error) {
		if resp, err = client.Get(url); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return err
	})
	if err != nil {
		t.Fatalf("%s does not answer %s: %v\nlog:\n%s", p.Name, url, err, p.LogTail(6000))
	}
	return resp
}
