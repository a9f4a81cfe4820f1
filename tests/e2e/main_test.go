// Package e2e runs the storagecli S3 gateway as a real process and drives it
// with the clients our users run: the aws cli (v1, as installed), boto3 and
// aws-sdk-go-v2. The scenarios come from the original product document
// (/work/shared/seed) and from /work/shared/S3-PITFALLS.md.
//
// Run with:
//
//	go test ./tests/e2e/
//
// The aws cli and boto3 are required: without them the tests fail when CI is
// set in the environment and are skipped otherwise. E2E_STORAGECLI=/path/bin
// tests that binary instead of building ./cmd/storagecli.
package e2e

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// The credentials the gateway uses by default and the seed document
// configures with `aws configure`.
const (
	accessKey = "accesskey"
	secretKey = "secretkey"
)

var (
	// binPath is the storagecli binary built by TestMain.
	binPath string
	// shared is the gateway TestMain starts for the scenarios that need no
	// gateway of their own. Each test uses its own bucket on it.
	shared *gateway
)

// TestMain builds ./cmd/storagecli once (E2E_STORAGECLI=/path tests that
// binary instead, e.g. a release build), starts the shared gateway, runs
// the tests and makes sure no process started by the tests outlives them.
func TestMain(m *testing.M) {
	testproc.Main(m, "e2e", func() (code int) {
		var err error
		if binPath, err = testproc.BinaryNow("storagecli"); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
			return 1
		}
		tmp := testproc.TempDir()
		g, err := startGateway(filepath.Join(tmp, "shared-home"), filepath.Join(tmp, "shared-gateway.log"))
		if err != nil {
			fmt.Fprintf(os.Stderr, "e2e: starting the shared gateway: %v\n", err)
			return 1
		}
		shared = g
		defer func() {
			if err := shared.Stop(10 * time.Second); err != nil {
				fmt.Fprintf(os.Stderr, "e2e: FAIL: stopping the shared gateway: %v\n", err)
				code = 1
			}
			if code != 0 {
				// Keep the whole log: the temporary directory is removed.
				kept := filepath.Join(os.TempDir(), fmt.Sprintf("storagecli-e2e-shared-gateway-%d.log", os.Getpid()))
				if b, err := os.ReadFile(shared.LogPath); err == nil && os.WriteFile(kept, b, 0o644) == nil {
					fmt.Fprintf(os.Stderr, "e2e: the shared gateway's log is kept in %s\n", kept)
				}
			}
		}()
		return m.Run()
	})
}

// ---------------------------------------------------------------------------
// Gateways.

// gateway is a `storagecli gateway run` child process serving on a loopback
// port with its data under home.
type gateway struct {
	*testproc.Proc
	home string
	addr string // host:port

	// quiet: another gateway on the same log attaches it to failing tests.
	quiet bool
}

// endpoint is the gateway's base URL, e.g. http://127.0.0.1:39123.
func (g *gateway) endpoint() string { return "http://" + g.addr }

// storagecli runs the built binary for home to completion with args and
// returns its combined output and exit code (-1 if it could not run or timed
// out).
func storagecli(home string, timeout time.Duration, args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = gatewayEnv(home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // see testproc.Start
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0, nil
	case errors.As(err, &ee) && ctx.Err() == nil:
		return string(out), ee.ExitCode(), nil
	default:
		return string(out), -1, fmt.Errorf("storagecli %s: %w", strings.Join(args, " "), err)
	}
}

// gatewayEnv is the environment for storagecli serving home: isolated, with
// HOME pointing to an empty directory next to home, so the user's
// ~/.lambda_storagecli is never read or written.
func gatewayEnv(home string) []string {
	return testproc.IsolatedEnv(filepath.Join(filepath.Dir(home), "user-home"))
}

// initHome runs `storagecli --home DIR init` once for a fresh home.
func initHome(home string) error {
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	out, code, err := storagecli(home, 30*time.Second, "--home", home, "init")
	if err != nil {
		return err
	}
	if code != 0 {
		return fmt.Errorf("storagecli --home %s init: exit %d\n%s", home, code, out)
	}
	return nil
}

// gatewayRunArgs are the arguments of `storagecli gateway run` for home and
// addr, plus extra flags.
func gatewayRunArgs(home, addr string, extra ...string) []string {
	args := []string{"gateway", "run", "--home", home, "--gateway.address", addr}
	return append(args, extra...)
}

// startGateway initializes home (if it has no config yet), starts a gateway
// on a free loopback port in the foreground and waits until it accepts
// connections. Output goes to logPath. The caller must call Stop.
func startGateway(home, logPath string) (*gateway, error) {
	if _, err := os.Stat(home); errors.Is(err, os.ErrNotExist) {
		if err := initHome(home); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		addr, err := testproc.FreeAddrNow()
		if err != nil {
			return nil, err
		}
		g, err := startGatewayAt(home, addr, logPath)
		// Another process may have taken the port since FreeAddrNow: retry once.
		if err != nil && attempt == 0 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		return g, err
	}
}

// startGatewayAt is startGateway on a given address, for restarts; extra
// flags are added to `gateway run`.
func startGatewayAt(home, addr, logPath string, extra ...string) (*gateway, error) {
	// --debug logs one line per request: the log is attached to failing
	// tests.
	cmd := exec.Command(binPath, gatewayRunArgs(home, addr, append([]string{"--debug"}, extra...)...)...)
	cmd.Env = gatewayEnv(home)
	p, err := testproc.Start("gateway on "+addr, addr, logPath, cmd)
	if err != nil {
		return nil, err
	}
	g := &gateway{Proc: p, home: home, addr: addr}
	if err := testproc.WaitTCP(addr, p, 30*time.Second); err != nil {
		g.Kill()
		return nil, fmt.Errorf("%w\ngateway log:\n%s", err, g.LogTail(4000))
	}
	return g, nil
}

// cleanupGateway stops g when t ends and logs its output if t failed.
func cleanupGateway(t *testing.T, g *gateway) {
	t.Cleanup(func() {
		if err := g.Stop(10 * time.Second); err != nil {
			t.Errorf("stopping gateway: %v", err)
		}
		if t.Failed() && !g.quiet {
			t.Logf("gateway log %s (tail):\n%s", g.LogPath, g.LogTail(6000))
		}
	})
}

// sharedGateway returns the gateway TestMain started, failing the test if it
// has died; its log is attached to failing tests.
func sharedGateway(t *testing.T) *gateway {
	t.Helper()
	if shared.Exited() {
		t.Fatalf("the shared gateway has exited (%v); log:\n%s", shared.WaitErr(), shared.LogTail(6000))
	}
	var from int64
	if st, err := os.Stat(shared.LogPath); err == nil {
		from = st.Size()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("shared gateway log written during %s:\n%s", t.Name(), fileSection(shared.LogPath, from, 16<<10))
		}
	})
	return shared
}

// fileSection returns the bytes of the file at path from offset from on; if
// there are more than max, the first and last max/2 with a marker between.
func fileSection(path string, from, max int64) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	if from > int64(len(b)) {
		from = int64(len(b))
	}
	b = b[from:]
	if int64(len(b)) <= max {
		return string(b)
	}
	return fmt.Sprintf("%s\n[... %d bytes ...]\n%s", b[:max/2], int64(len(b))-max, b[int64(len(b))-max/2:])
}

// ---------------------------------------------------------------------------
// Client tools.

// requireAWS makes sure the aws cli is available.
func requireAWS(t *testing.T) {
	t.Helper()
	testproc.RequireTool(t, "the aws cli", "aws", "--version")
}

// requireBoto3 makes sure python3 can import boto3.
func requireBoto3(t *testing.T) {
	t.Helper()
	testproc.RequireTool(t, "python3 with boto3", "python3", "-c", "import boto3")
}

// clientEnv returns an environment for aws and python isolated from the
// user's AWS configuration: every AWS_* variable is dropped, and the config
// and credentials files are ones written here with what the seed's
// `aws configure` enters (accesskey / secretkey, empty region and output).
//
// No region is set: the aws cli v1 and boto3 sign S3 requests for us-east-1
// when none is configured, which is the gateway's default, so
// AWS_DEFAULT_REGION is not needed (checked with aws-cli 1.45 / botocore
// 1.43). Instance metadata lookups are disabled so nothing waits on
// 169.254.169.254.
func clientEnv(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	writeFile(t, cfg, []byte("[default]\n"))
	writeFile(t, creds, []byte("[default]\naws_access_key_id = "+accessKey+"\naws_secret_access_key = "+secretKey+"\n"))
	return append(testproc.IsolatedEnv(filepath.Join(dir, "home")),
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
}

// writeFile writes data to path, creating parent directories.
func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
