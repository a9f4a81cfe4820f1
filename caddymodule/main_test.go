package caddymodule

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/certmagic"

	"github.com/lambda/storagecli/internal/testproc"
)

// The integration tests (caddy_test.go) run one Caddy in this test binary,
// as caddytest does: its admin endpoint is on localhost:2999 (caddytest's
// default) and every caddytest InitServer is a config load, so a second
// one is a reload. Keep every caddytest test in this package.
//
// TestMain points HOME and Caddy's data directory at a temporary directory
// (Caddy keeps its internal CA and certificates there, the module reads
// ~/.lambda_storagecli) and starts that Caddy itself, so that a Caddy that
// fails to start fails the tests instead of making caddytest skip them.

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testRoot is the temporary directory of this test binary.
var testRoot string

// adminPort is caddytest's admin port.
const adminPort = 2999

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "s3gateway-caddymodule-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	testRoot = dir
	for k, v := range map[string]string{
		"HOME":            filepath.Join(dir, "home"),
		"XDG_DATA_HOME":   filepath.Join(dir, "xdg-data"),
		"XDG_CONFIG_HOME": filepath.Join(dir, "xdg-config"),
	} {
		if err := os.MkdirAll(v, 0o700); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		os.Setenv(k, v)
	}
	caddy.DefaultStorage = &certmagic.FileStorage{Path: caddy.AppDataDir()}
	code := m.Run()
	if caddyStarted {
		_ = caddy.Stop()
	}
	return code
}

var (
	caddyOnce    sync.Once
	caddyErr     error
	caddyStarted bool
)

// startCaddy starts the in-process Caddy with only its admin endpoint.
func startCaddy(t *testing.T) {
	t.Helper()
	if testing.Short() {
		if os.Getenv("CI") != "" {
			t.Fatal("the Caddy integration tests do not skip in CI: run without -short")
		}
		t.Skip("Caddy integration test (-short)")
	}
	caddyOnce.Do(func() {
		cfg := fmt.Sprintf(`{"admin":{"listen":"localhost:%d","config":{"persist":false}}}`, adminPort)
		if caddyErr = caddy.Load([]byte(cfg), true); caddyErr == nil {
			caddyStarted = true
		}
	})
	if caddyErr != nil {
		t.Fatalf("starting Caddy: %v", caddyErr)
	}
}

// newTester returns a caddytest.Tester on the running in-process Caddy.
func newTester(t *testing.T) *caddytest.Tester {
	t.Helper()
	startCaddy(t)
	return caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{
		AdminPort:          adminPort,
		LoadRequestTimeout: 30 * time.Second,
		TestRequestTimeout: 30 * time.Second,
	})
}

// load loads a Caddyfile into the running Caddy (a reload when a config is
// running) and fails the test if it is not running afterwards.
func load(t *testing.T, tc *caddytest.Tester, caddyfile string) {
	t.Helper()
	tc.InitServer(caddyfile, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	waitOldServersClosed(t)
	closeIdleConnections()
}

// waitOldServersClosed makes sure no server of the configuration a load
// replaced accepts another connection; until then a new connection to a
// port both configurations listen on can be served with the old routes.
//
// First, Caddy starts the old servers' shutdown in goroutines and may
// answer the load before: a listener's reference count drops when its
// server closes it, so each test port must be down to at most one user.
// Second, an old server's accept loop can still be parked in accept(2)
// after that (Caddy checks a listener's closed flag before accepting, not
// after; two servers on one socket take turns on its read lock, and the
// new server clears the wake-up deadline that the close set): it takes
// the next connection, then finds its listener closed and stops. A few
// TLS handshakes with each port absorb such a straggler.
func waitOldServersClosed(t *testing.T) {
	t.Helper()
	httpPort, httpsPort, second := testPorts(t)
	for _, p := range []int{httpPort, httpsPort, second} {
		addr := fmt.Sprintf("127.0.0.1:%d", p)
		deadline := time.Now().Add(30 * time.Second)
		for caddy.ListenerUsage("tcp", addr) > 1 {
			if time.Now().After(deadline) {
				t.Fatalf("the previous configuration's server still accepts on %s", addr)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if p == httpPort || caddy.ListenerUsage("tcp", addr) == 0 {
			continue // the test configs serve HTTPS only
		}
		for range 3 {
			c, err := tls.DialWithDialer(&net.Dialer{Timeout: 10 * time.Second}, "tcp", addr,
				&tls.Config{ServerName: "localhost", InsecureSkipVerify: true}) // a probe: no data
			if err == nil {
				c.Close()
			}
		}
	}
}

// freePort returns a TCP port free on 127.0.0.1, UDP too.
func freePort(t *testing.T) int { return testproc.FreePort(t) }

// ports are the HTTP and HTTPS ports of the test configs, chosen once.
var ports struct {
	once        sync.Once
	http, https int
	second      int
}

func testPorts(t *testing.T) (httpPort, httpsPort, second int) {
	ports.once.Do(func() {
		ports.http, ports.https, ports.second = freePort(t), freePort(t), freePort(t)
	})
	return ports.http, ports.https, ports.second
}

// storageDir is where the test Caddy keeps certificates and its CA.
func storageDir() string { return filepath.Join(testRoot, "caddy-storage") }

// globalOptions returns the Caddyfile global options of every test config,
// with extra lines added.
func globalOptions(t *testing.T, extra ...string) string {
	httpPort, httpsPort, _ := testPorts(t)
	return fmt.Sprintf(`{
	admin localhost:%d
	persist_config off
	local_certs
	skip_install_trust
	storage file_system %s
	http_port %d
	https_port %d
	auto_https disable_redirects
	default_bind 127.0.0.1
	%s
}
`, adminPort, storageDir(), httpPort, httpsPort, strings.Join(extra, "\n\t"))
}

// rootPool returns a pool holding the test Caddy's internal root CA, which
// signs the `tls internal` certificates.
func rootPool(t *testing.T) *x509.CertPool {
	t.Helper()
	path := filepath.Join(storageDir(), "pki", "authorities", "local", "root.crt")
	var pem []byte
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if pem, err = os.ReadFile(path); err == nil || time.Now().After(deadline) {
			break
		}
	}
	if err != nil {
		t.Fatalf("Caddy's root certificate: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("no certificate in %s", path)
	}
	return pool
}

// httpsClient returns an HTTP client trusting only the test Caddy's CA,
// speaking HTTP/2 when the server offers it.
func httpsClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: rootPool(t), MinVersion: tls.VersionTLS12},
		ForceAttemptHTTP2:   true,
		MaxIdleConnsPerHost: 16,
	}
	t.Cleanup(tr.CloseIdleConnections)
	transportsMu.Lock()
	transports = append(transports, tr)
	transportsMu.Unlock()
	return &http.Client{Transport: tr}
}

// transports are the test clients' transports: load closes their idle
// connections, so that no request after a reload rides a connection the
// previous configuration's server accepted (it serves those until they
// close).
var (
	transportsMu sync.Mutex
	transports   []*http.Transport
)

func closeIdleConnections() {
	transportsMu.Lock()
	defer transportsMu.Unlock()
	for _, tr := range transports {
		tr.CloseIdleConnections()
	}
}

// waitTLS waits until endpoint completes TLS handshakes (Caddy obtains the
// internal certificate in the background) and answers.
func waitTLS(t *testing.T, hc *http.Client, endpoint string) {
	t.Helper()
	var err error
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var resp *http.Response
		if resp, err = hc.Get(endpoint + "/"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("%s does not answer over TLS: %v", endpoint, err)
}

// s3Client returns an aws-sdk-go-v2 client for endpoint (path style).
// Without retry, every failed attempt is an error.
func s3Client(hc *http.Client, endpoint, ak, sk string, retry bool) *s3.Client {
	o := s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:   hc,
	}
	if !retry {
		o.Retryer = aws.NopRetryer{}
	}
	return s3.New(o)
}

// writeUserTOML writes a storagecli configuration file and returns its path.
func writeUserTOML(t *testing.T, dir, content string) string {
	t.Helper()
	path := filepath.Join(dir, "user.toml")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// ctxT returns a context that ends with the test (at most 2 minutes).
func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// isCode reports whether err is an S3 API error with code.
func isCode(err error, code string) bool {
	var ae interface{ ErrorCode() string }
	return errors.As(err, &ae) && ae.ErrorCode() == code
}
