// Package caddy runs the Caddy built from ./cmd/caddy (Caddy's standard
// modules plus the s3gateway module) as a real process on loopback ports
// with `tls internal`, and drives it over HTTPS with the machine's aws cli
// and boto3. It also checks that Caddyfile.example passes
// `caddy adapt --validate` and that the xcaddy build of xcaddy.md works.
//
// Run with:
//
//	go test ./tests/caddy/
//
// The aws cli, boto3 and (for the xcaddy test) the Go module proxy are
// required: without them the tests fail when CI is set in the environment
// and are skipped otherwise.
package caddy

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

var (
	// repoRoot is the module root (where go.mod lives).
	repoRoot string
	// binDir holds the binaries built for the tests.
	binDir string
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	if binDir, err = os.MkdirTemp("", "s3gateway-caddy-e2e-bin-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(binDir)
	builds = testproc.Builder{RepoRoot: repoRoot, OutDir: binDir}
	defer stopAll()
	return m.Run()
}

// builds are the binaries built once per test binary (into binDir).
var builds testproc.Builder

// buildBinary builds ./cmd/<name> once and returns its path.
func buildBinary(t *testing.T, name string) string {
	t.Helper()
	return builds.Build(t, name)
}

// missingTool fails the test in CI and skips it elsewhere.
func missingTool(t *testing.T, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required in CI: %v", what, err)
	}
	t.Skipf("%s is not available: %v", what, err)
}

func requireAWS(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("aws", "--version").CombinedOutput(); err != nil {
		missingTool(t, "the aws cli", fmt.Errorf("%v: %s", err, out))
	}
}

func requireBoto3(t *testing.T) {
	t.Helper()
	if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
		missingTool(t, "python3 with boto3", fmt.Errorf("%v: %s", err, out))
	}
}

// freePort returns a TCP port free on 127.0.0.1, UDP too.
func freePort(t *testing.T) int { return testproc.FreePort(t) }

// process is a server started by a test.
type process struct {
	name string
	cmd  *exec.Cmd
	log  *os.File
	done chan struct{}
}

var (
	procsMu sync.Mutex
	procs   []*process
)

// startProcess starts bin with args in dir, with HOME and Caddy's XDG
// directories in home, logging to dir/<name>.log.
func startProcess(t *testing.T, name, dir, home string, env []string, bin string, args ...string) *process {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(isolatedEnv(home), env...)
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatal(err)
	}
	p := &process{name: name, cmd: cmd, log: logf, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(p.done) }()
	procsMu.Lock()
	procs = append(procs, p)
	procsMu.Unlock()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			if len(b) > 8000 {
				b = b[len(b)-8000:]
			}
			t.Logf("%s log (end):\n%s", name, b)
		}
	})
	return p
}

// stop ends the process by its pid (SIGTERM, then SIGKILL) and waits.
func (p *process) stop() {
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
	p.log.Close()
}

// stopAll stops every process still running (a test that called
// t.FailNow from another goroutine, a panic).
func stopAll() {
	procsMu.Lock()
	defer procsMu.Unlock()
	for _, p := range procs {
		p.stop()
	}
}

// isolatedEnv is the environment for the processes and clients: the
// machine's, without AWS_* settings, with HOME and the XDG directories
// (where Caddy keeps its data and certificates) under home.
func isolatedEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "BOTO_"), k == "HOME", strings.HasPrefix(k, "XDG_"):
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"PYTHONUNBUFFERED=1",
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

// clientEnv is the environment of the aws cli and boto3: isolated, with
// the keys, and trusting the CA in caFile.
func clientEnv(home, ak, sk, caFile string) []string {
	cfg := filepath.Join(home, "aws-config")
	_ = os.WriteFile(cfg, []byte("[default]\n"), 0o600)
	return append(isolatedEnv(home),
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "aws-credentials-none"),
		"AWS_ACCESS_KEY_ID="+ak,
		"AWS_SECRET_ACCESS_KEY="+sk,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CA_BUNDLE="+caFile,
		"AWS_PAGER=",
	)
}

// run runs name with args in env and returns its stdout; a non-zero exit
// fails the test with both outputs.
func run(t *testing.T, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("%s %s (%v)", name, strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}

// caRoot waits for Caddy's internal root certificate under storage and
// returns its path and a pool with it.
func caRoot(t *testing.T, storage string) (string, *x509.CertPool) {
	t.Helper()
	path := filepath.Join(storage, "pki", "authorities", "local", "root.crt")
	var pem []byte
	var err error
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
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
	return path, pool
}

// tlsClient returns an HTTP client that trusts only pool and speaks HTTP/2
// when the server offers it.
func tlsClient(t *testing.T, pool *x509.CertPool) *http.Client {
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// waitHTTP waits until url answers (any status) with client, or p exits.
func waitHTTP(t *testing.T, p *process, client *http.Client, url string) *http.Response {
	t.Helper()
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		select {
		case <-p.done:
			t.Fatalf("%s exited before answering %s", p.name, url)
		default:
		}
		var resp *http.Response
		if resp, err = client.Get(url); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
	}
	t.Fatalf("%s does not answer %s: %v", p.name, url, err)
	return nil
}
