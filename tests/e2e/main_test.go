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
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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
	// repoRoot is the module root (where go.mod lives).
	repoRoot string
	// shared is the gateway TestMain starts for the scenarios that need no
	// gateway of their own. Each test uses its own bucket on it.
	shared *gateway
)

// TestMain builds ./cmd/storagecli once, starts the shared gateway, runs the
// tests and makes sure no process started by the tests outlives them.
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	defer testproc.KillAll("e2e")
	testproc.ArmTimeoutWatchdog(func() { testproc.KillAll("e2e") })

	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "go.mod"))
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: cannot find the module root: %v\n", err)
		return 1
	}
	repoRoot = root

	tmp, err := os.MkdirTemp("", "storagecli-e2e-")
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: %v\n", err)
		return 1
	}
	defer os.RemoveAll(tmp)

	// E2E_STORAGECLI runs the suite against a given binary instead of
	// building ./cmd/storagecli (e.g. a release build).
	if bin := os.Getenv("E2E_STORAGECLI"); bin != "" {
		binPath = bin
	} else {
		binPath = filepath.Join(tmp, "storagecli")
		build := exec.Command("go", "build", "-o", binPath, "./cmd/storagecli")
		build.Dir = repoRoot
		if out, err := build.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: go build ./cmd/storagecli failed: %v\n%s\n", err, out)
			return 1
		}
	}

	g, err := startGateway(filepath.Join(tmp, "shared-home"), filepath.Join(tmp, "shared-gateway.log"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "e2e: starting the shared gateway: %v\n", err)
		return 1
	}
	shared = g
	defer func() {
		if err := shared.stop(10 * time.Second); err != nil {
			fmt.Fprintf(os.Stderr, "e2e: FAIL: stopping the shared gateway: %v\n", err)
			code = 1
		}
		if code != 0 {
			// Keep the whole log: the temporary directory is removed.
			kept := filepath.Join(os.TempDir(), fmt.Sprintf("storagecli-e2e-shared-gateway-%d.log", os.Getpid()))
			if b, err := os.ReadFile(shared.logPath); err == nil && os.WriteFile(kept, b, 0o644) == nil {
				fmt.Fprintf(os.Stderr, "e2e: the shared gateway's log is kept in %s\n", kept)
			}
		}
	}()
	return m.Run()
}

// ---------------------------------------------------------------------------
// Process bookkeeping: every process the tests start is registered here so it
// can be killed even when a test fails, panics or the run times out.

// ---------------------------------------------------------------------------
// Gateways.

// gateway is a `storagecli gateway run` child process serving on a loopback
// port with its data under home.
type gateway struct {
	home    string
	addr    string // host:port
	logPath string

	// quiet: another gateway on the same log attaches it to failing tests.
	quiet bool

	cmd     *exec.Cmd
	logFile *os.File
	done    chan struct{} // closed when the process has exited
	waitErr error
}

// endpoint is the gateway's base URL, e.g. http://127.0.0.1:39123.
func (g *gateway) endpoint() string { return "http://" + g.addr }

// freeAddr returns a loopback address with a port that was free a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// storagecli runs the built binary for home to completion with args and
// returns its combined output and exit code (-1 if it could not run or timed
// out).
func storagecli(home string, timeout time.Duration, args ...string) (string, int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, binPath, args...)
	cmd.Env = gatewayEnv(home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // see startGatewayAt
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

// gatewayEnv is the environment for storagecli serving home: ours without
// AWS_* variables (the gateway must not pick up client settings) and with
// HOME pointing to an empty directory next to home, so the user's
// ~/.lambda_storagecli is never read or written.
func gatewayEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	fake := filepath.Join(filepath.Dir(home), "user-home")
	_ = os.MkdirAll(fake, 0o755)
	return append(env, "HOME="+fake)
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
// connections. Output goes to logPath. The caller must call stop.
func startGateway(home, logPath string) (*gateway, error) {
	if _, err := os.Stat(home); errors.Is(err, os.ErrNotExist) {
		if err := initHome(home); err != nil {
			return nil, err
		}
	}
	for attempt := 0; ; attempt++ {
		addr, err := freeAddr()
		if err != nil {
			return nil, err
		}
		g, err := startGatewayAt(home, addr, logPath)
		// Another process may have taken the port since freeAddr: retry once.
		if err != nil && attempt == 0 && strings.Contains(err.Error(), "address already in use") {
			continue
		}
		return g, err
	}
}

// startGatewayAt is startGateway on a given address, for restarts; extra
// flags are added to `gateway run`.
func startGatewayAt(home, addr, logPath string, extra ...string) (*gateway, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "\n==== %s: starting gateway on %s (home %s)\n", time.Now().Format(time.RFC3339Nano), addr, home)
	// --debug logs one line per request: the log is attached to failing
	// tests.
	cmd := exec.Command(binPath, gatewayRunArgs(home, addr, append([]string{"--debug"}, extra...)...)...)
	cmd.Env = gatewayEnv(home)
	cmd.Stdout = lf
	cmd.Stderr = lf
	// Pdeathsig: if the test binary dies (e.g. -test.timeout panics without
	// running cleanups), the kernel kills the gateway too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, err
	}
	g := &gateway{home: home, addr: addr, logPath: logPath, cmd: cmd, logFile: lf, done: make(chan struct{})}
	testproc.Register(cmd.Process.Pid, "gateway on "+addr)
	go func() {
		g.waitErr = cmd.Wait()
		testproc.Unregister(cmd.Process.Pid)
		close(g.done)
	}()
	if err := waitListening(addr, g.done, 30*time.Second); err != nil {
		_ = g.kill()
		return nil, fmt.Errorf("%w\ngateway log:\n%s", err, g.logTail(4000))
	}
	return g, nil
}

// waitListening polls addr until it accepts a TCP connection, exited is
// closed (the server died) or the timeout passes.
func waitListening(addr string, exited <-chan struct{}, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		select {
		case <-exited:
			return fmt.Errorf("gateway exited before listening on %s", addr)
		default:
		}
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway not listening on %s after %v: %v", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop sends SIGTERM and waits up to grace for the gateway to exit, then
// SIGKILLs it. It returns an error if SIGTERM was not enough or the process
// exited with a failure status after SIGTERM.
func (g *gateway) stop(grace time.Duration) error {
	select {
	case <-g.done:
		g.logFile.Close()
		return nil // already gone (killed or crashed; the test notices)
	default:
	}
	_ = g.cmd.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case <-g.done:
		if g.waitErr != nil {
			err = fmt.Errorf("gateway on %s exited after SIGTERM with %v", g.addr, g.waitErr)
		}
	case <-time.After(grace):
		err = fmt.Errorf("gateway on %s still running %v after SIGTERM; killed", g.addr, grace)
		_ = g.kill()
	}
	g.logFile.Close()
	return err
}

// kill SIGKILLs the gateway and waits for it to be reaped.
func (g *gateway) kill() error {
	err := g.cmd.Process.Kill()
	<-g.done
	return err
}

// logTail returns the last n bytes of the gateway's output.
func (g *gateway) logTail(n int64) string { return testproc.FileTail(g.logPath, n) }

// cleanupGateway stops g when t ends and logs its output if t failed.
func cleanupGateway(t *testing.T, g *gateway) {
	t.Cleanup(func() {
		if err := g.stop(10 * time.Second); err != nil {
			t.Errorf("stopping gateway: %v", err)
		}
		if t.Failed() && !g.quiet {
			t.Logf("gateway log %s (tail):\n%s", g.logPath, g.logTail(6000))
		}
	})
}

// sharedGateway returns the gateway TestMain started, failing the test if it
// has died; its log is attached to failing tests.
func sharedGateway(t *testing.T) *gateway {
	t.Helper()
	select {
	case <-shared.done:
		t.Fatalf("the shared gateway has exited (%v); log:\n%s", shared.waitErr, shared.logTail(6000))
	default:
	}
	var from int64
	if st, err := os.Stat(shared.logPath); err == nil {
		from = st.Size()
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("shared gateway log written during %s:\n%s", t.Name(), fileSection(shared.logPath, from, 16<<10))
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

var (
	toolsOnce sync.Once
	awsErr    error
	boto3Err  error
)

func probeTools() {
	toolsOnce.Do(func() {
		if _, err := exec.LookPath("aws"); err != nil {
			awsErr = fmt.Errorf("the aws cli is not installed (`aws` not in PATH): %w", err)
		} else if out, err := exec.Command("aws", "--version").CombinedOutput(); err != nil {
			awsErr = fmt.Errorf("`aws --version` failed: %v\n%s", err, out)
		}
		if out, err := exec.Command("python3", "-c", "import boto3").CombinedOutput(); err != nil {
			boto3Err = fmt.Errorf("boto3 is not available (`python3 -c 'import boto3'`): %v\n%s", err, out)
		}
	})
}

// missingTool fails the test when CI is set (the tools are required there)
// and skips it otherwise.
func missingTool(t *testing.T, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("required tool missing (CI is set): %v", err)
	}
	t.Skipf("skipping: %v (set CI=true to make this a failure)", err)
}

// requireAWS makes sure the aws cli is available.
func requireAWS(t *testing.T) {
	t.Helper()
	probeTools()
	if awsErr != nil {
		missingTool(t, awsErr)
	}
}

// requireBoto3 makes sure python3 can import boto3.
func requireBoto3(t *testing.T) {
	t.Helper()
	probeTools()
	if boto3Err != nil {
		missingTool(t, boto3Err)
	}
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
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "BOTO_") || strings.HasPrefix(kv, "PYTHONPATH=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env,
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+creds,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
		"PYTHONUNBUFFERED=1",
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

// runCmd runs name with args in env and returns stdout; on a non-zero exit it
// returns an error carrying the command line, exit status, stdout and stderr.
func runCmd(env []string, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // see startGatewayAt
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n--- stdout:\n%s\n--- stderr:\n%s",
			name, quoteArgs(args), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// quoteArgs renders args for logs.
func quoteArgs(args []string) string {
	q := make([]string, len(args))
	for i, a := range args {
		if a == "" || strings.ContainsAny(a, " \t\"'\\") {
			q[i] = strconv.Quote(a)
		} else {
			q[i] = a
		}
	}
	return strings.Join(q, " ")
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
