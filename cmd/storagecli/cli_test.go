package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway/store"
)

// The integration tests run the real binary, built once by TestMain.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "storagecli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "storagecli")
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building storagecli:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

// cli runs the binary with args and extra environment variables.
func cli(t *testing.T, env []string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %v: %v", args, err)
	}
	t.Logf("storagecli %s -> %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out.String(), errb.String())
	return result{out.String(), errb.String(), code}
}

// cleanEnv is the test's environment without variables the CLI reads.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		switch name {
		case envAccessKey, envSecretKey, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", daemonChildEnv:
			continue
		}
		env = append(env, kv)
	}
	return env
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

var runningRe = regexp.MustCompile(`gateway is running, pid is (\d+), address (\S+)`)

// killOnCleanup makes sure pid does not outlive the test.
func killOnCleanup(t *testing.T, pid int) {
	t.Cleanup(func() {
		if processRunning(pid) {
			t.Errorf("pid %d still running at the end of the test: killing it", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	})
}

// killOrderOnCleanup kills whatever gateway still holds an order's lock when
// the test ends (in case the test failed before it learnt the pid).
func killOrderOnCleanup(t *testing.T, home string, orders ...string) {
	t.Cleanup(func() {
		for _, o := range orders {
			if running, in, _ := probe(home, o); running && in.PID > 0 && in.PID != os.Getpid() {
				t.Errorf("gateway for order %s (pid %d) still running at the end of the test: killing it", o, in.PID)
				_ = syscall.Kill(in.PID, syscall.SIGKILL)
			}
		}
	})
}

// processRunning reports whether pid exists and is not a zombie (the
// daemon's parent exits, so nobody in the test may reap it).
func processRunning(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

func mustContain(t *testing.T, what, got string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s: %q does not contain %q", what, got, w)
		}
	}
}

// TestGatewayDaemonLifecycle: init, config, run --daemonize, --status, a
// refused second gateway, S3 requests, --stop, --status, order list.
func TestGatewayDaemonLifecycle(t *testing.T) {
	home := filepath.Join(t.TempDir(), config.HomeDirName)
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	h := []string{"--home", home}
	killOrderOnCleanup(t, home, "o1", "default")
	args := func(a ...string) []string { return append(append([]string{}, a...), h...) }

	r := cli(t, nil, args("init")...)
	if r.code != 0 {
		t.Fatalf("init: exit %d", r.code)
	}
	mustContain(t, "init", r.stdout, config.ConfigPath(home))
	if r := cli(t, nil, args("init")...); r.code != 1 || !strings.Contains(r.stderr, "--force") {
		t.Errorf("second init: exit %d, stderr %q; want 1 and a hint at --force", r.code, r.stderr)
	}
	if r := cli(t, nil, args("config", "gateway.address", addr)...); r.code != 0 {
		t.Fatalf("config set: exit %d", r.code)
	}
	if r := cli(t, nil, args("config", "gateway.address")...); r.code != 0 || strings.TrimSpace(r.stdout) != addr {
		t.Errorf("config get: %+v", r)
	}
	r = cli(t, nil, args("config")...)
	for _, want := range []string{`address +=  *"` + regexp.QuoteMeta(addr) + `"`, `secret_key +=  *"` + regexp.QuoteMeta(config.Mask) + `"`} {
		if !regexp.MustCompile(want).MatchString(r.stdout) {
			t.Errorf("config does not match %s:\n%s", want, r.stdout)
		}
	}
	if strings.Contains(r.stdout, config.DefaultSecretKey) {
		t.Errorf("config shows the secret:\n%s", r.stdout)
	}

	// Credentials from the environment (--account env), as in the docs.
	env := []string{envAccessKey + "=envAK", envSecretKey + "=envSecret123"}
	r = cli(t, env, args("gateway", "run", "--account", "env", "--broker.extra_order_id", "o1", "--debug", "--daemonize")...)
	m := runningRe.FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("--daemonize: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	pid, _ := strconv.Atoi(m[1])
	killOnCleanup(t, pid)
	if m[2] != addr {
		t.Errorf("daemon address %s, want %s", m[2], addr)
	}

	status := args("gateway", "run", "--broker.extra_order_id", "o1", "--status")
	r = cli(t, nil, status...)
	want := fmt.Sprintf("gateway.pid is running, pid is %d, address %s, order o1", pid, addr)
	if first, rest, _ := strings.Cut(r.stdout, "\n"); r.code != 0 || first != want || !strings.Contains(rest, "order o1: used 0 B / unlimited, 0 objects, never expires, active") {
		t.Errorf("--status: exit %d, %q; want 0, %q and the order's usage", r.code, r.stdout, want)
	}
	if b, err := os.ReadFile(config.PIDFile(home, "o1")); err != nil || strings.TrimSpace(string(b)) != m[1] {
		t.Errorf("pid file: %q, %v", b, err)
	}
	// Another order is not running.
	if r := cli(t, nil, args("gateway", "run", "--status")...); r.code != exitNotRunning {
		t.Errorf("--status of order default: exit %d, want %d", r.code, exitNotRunning)
	}

	// A second gateway for the same order is refused, daemonized or not.
	refused := fmt.Sprintf("gateway for order o1 is already running, pid %d", pid)
	other := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	for _, extra := range [][]string{{"--daemonize"}, {}} {
		r := cli(t, nil, args(append([]string{"gateway", "run", "--broker.extra_order_id", "o1", "--gateway.address", other}, extra...)...)...)
		if r.code != 1 || !strings.Contains(r.stderr, refused) {
			t.Errorf("second gateway %v: exit %d, stderr %q; want 1 and %q", extra, r.code, r.stderr, refused)
		}
		if mm := runningRe.FindStringSubmatch(r.stdout); mm != nil {
			p, _ := strconv.Atoi(mm[1])
			killOnCleanup(t, p)
		}
	}

	// The gateway answers HTTP: anonymous requests are refused, signed
	// ones with the environment's keys are served.
	resp, err := http.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("x-amz-request-id") == "" {
		t.Errorf("anonymous GET /: %s, request id %q", resp.Status, resp.Header.Get("x-amz-request-id"))
	}
	for _, step := range []struct {
		method, path, body string
		ak, sk             string
		want               int
	}{
		{"PUT", "/bucket1", "", "envAK", "envSecret123", 200},
		{"PUT", "/bucket1/hello.txt", "hello world", "envAK", "envSecret123", 200},
		{"GET", "/bucket1/hello.txt", "", "envAK", "envSecret123", 200},
		{"GET", "/", "", config.DefaultAccessKey, config.DefaultSecretKey, 403},
	} {
		code := signedRequest(t, step.method, "http://"+addr+step.path, step.body, step.ak, step.sk)
		if code != step.want {
			t.Errorf("%s %s as %s: %d, want %d", step.method, step.path, step.ak, code, step.want)
		}
	}

	// order list while it runs. The bucket and the object are charged
	// with their names and overheads (store.ObjectCost).
	used := store.BucketCost("bucket1") + store.ObjectCost("hello.txt", int64(len("hello world")), nil)
	usedText := humanBytes(used) + " / unlimited"
	if r := cli(t, nil, args("config", "broker.extra_order_id", "o1")...); r.code != 0 {
		t.Fatal("config broker.extra_order_id")
	}
	// The gateway publishes its usage every few seconds.
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		r = cli(t, nil, args("order", "list")...)
		if strings.Contains(r.stdout, usedText) || time.Now().After(end) {
			break
		}
	}
	mustContain(t, "order list (running)", r.stdout, "OrderId | Expire | Used/Total", fmt.Sprintf("active, served by pid %d", pid), usedText)

	// Stop.
	r = cli(t, nil, args("gateway", "run", "--broker.extra_order_id", "o1", "--stop")...)
	if r.code != 0 || !strings.Contains(r.stdout, "gateway stopped") {
		t.Errorf("--stop: exit %d, %q", r.code, r.stdout)
	}
	deadline := time.Now().Add(5 * time.Second)
	for processRunning(pid) && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if processRunning(pid) {
		t.Errorf("pid %d still running after --stop", pid)
	}
	r = cli(t, nil, status...)
	if r.code != exitNotRunning || strings.TrimSpace(r.stdout) != "gateway is not running" {
		t.Errorf("--status after stop: exit %d, %q", r.code, r.stdout)
	}
	if _, err := os.Stat(config.PIDFile(home, "o1")); !os.IsNotExist(err) {
		t.Errorf("pid file left after stop: %v", err)
	}
	if r := cli(t, nil, args("gateway", "run", "--broker.extra_order_id", "o1", "--stop")...); r.code != 0 || !strings.Contains(r.stdout, "not running") {
		t.Errorf("--stop when stopped: %+v", r)
	}

	// Usage is readable once the gateway is gone.
	r = cli(t, nil, args("order", "list")...)
	mustContain(t, "order list (stopped)", r.stdout, "o1", usedText, "| active")
	r = cli(t, nil, args("order", "list", "--json")...)
	mustContain(t, "order list --json", r.stdout, `"order_id": "o1"`, fmt.Sprintf(`"used_bytes": %d`, used), `"objects": 1`, `"total_bytes": null`, `"status": "active"`)

	logData, _ := os.ReadFile(config.GatewayLogFile(home))
	mustContain(t, "log", string(logData), "gateway listening", `"op":"PutObject"`, "gateway stopped")
	for _, secret := range []string{"envSecret123", config.DefaultSecretKey} {
		if strings.Contains(string(logData), secret) {
			t.Errorf("the log contains the secret %q", secret)
		}
	}
}

// TestDaemonizeFailure: a gateway that cannot start makes --daemonize fail
// with its error.
func TestDaemonizeFailure(t *testing.T) {
	home := t.TempDir()
	killOrderOnCleanup(t, home, config.DefaultExtraOrderID)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	tests := []struct {
		name string
		args []string
		want string
		code int
	}{
		{"address in use", []string{"--gateway.address", busy.Addr().String()}, "address already in use", 1},
		{"bad address", []string{"--gateway.address", "nohost"}, "not host:port", exitUsage},
		{"missing tls key", []string{"--gateway.address", "127.0.0.1:0", "--tls.cert", "c.pem"}, "--tls.cert and --tls.key", exitUsage},
		{"unreadable tls files", []string{"--gateway.address", "127.0.0.1:0", "--tls.cert", "/nonexistent/c.pem", "--tls.key", "/nonexistent/k.pem"}, "--tls.cert/--tls.key", 1},
		{"half of the env pair", []string{"--account", "env"}, envSecretKey + " is not", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var env []string
			if tt.name == "half of the env pair" {
				env = []string{envAccessKey + "=x"}
			}
			r := cli(t, env, append([]string{"gateway", "run", "--home", home, "--daemonize"}, tt.args...)...)
			if m := runningRe.FindStringSubmatch(r.stdout); m != nil {
				pid, _ := strconv.Atoi(m[1])
				killOnCleanup(t, pid)
			}
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			if r := cli(t, nil, "gateway", "run", "--home", home, "--status"); r.code != exitNotRunning {
				t.Errorf("--status after a failed start: exit %d", r.code)
			}
		})
	}
}

// TestForegroundDefaults: without user.toml, gateway run serves the defaults
// and says so; SIGTERM stops it cleanly.
func TestForegroundDefaults(t *testing.T) {
	home := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	cmd := exec.Command(binary, "gateway", "run", "--home", home, "--gateway.address", addr)
	cmd.Env = cleanEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("gateway did not listen: %s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := signedRequest(t, "GET", "http://"+addr+"/", "", config.DefaultAccessKey, config.DefaultSecretKey); code != 200 {
		t.Errorf("ListBuckets with the default credentials: %d", code)
	}
	// The order console is on by default: its page sends to its sign-in.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	if resp, err := noRedirect.Get("http://" + addr + "/_console/"); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/_console/signin" {
		t.Errorf("GET /_console/: %d %q, want 303 to the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
	// The header block is bounded as Caddy bounds it (16 KiB by default).
	big, _ := http.NewRequest("GET", "http://"+addr+"/", nil)
	big.Header.Set("X-Amz-Meta-Big", strings.Repeat("a", 24<<10))
	if resp, err := http.DefaultClient.Do(big); err != nil {
		t.Error(err)
	} else if resp.Body.Close(); resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("a 24 KiB header block: %d, want 431", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not exit after SIGTERM")
	}
	log := stderr.String()
	mustContain(t, "log", log, "no configuration file: starting with the defaults", "default credentials", "gateway listening", "gateway stopped")
	if strings.Contains(log, config.DefaultSecretKey) {
		t.Errorf("the log shows the secret key:\n%s", log)
	}
}

// TestCLIErrors covers exit codes of bad command lines and config errors.
func TestCLIErrors(t *testing.T) {
	home := t.TempDir()
	path := config.ConfigPath(home)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("[gateway]\nsecret_key = \"hunter2hunter2\"\n\nadress = \"x\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"config"}, 1, "line 4"},
		{[]string{"gateway", "run", "--status"}, 1, `unknown key "gateway.adress"`},
		{[]string{"bogus"}, exitUsage, "unknown command"},
		{[]string{"gateway", "run", "--nosuchflag"}, exitUsage, "unknown flag"},
		{[]string{"gateway", "run", "--status", "--stop"}, exitUsage, "none of the others"},
		{[]string{"config", "a", "b", "c"}, exitUsage, "at most 2"},
		{[]string{"version", "x"}, exitUsage, "unexpected argument"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			r := cli(t, nil, append(tt.args, "--home", home)...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", r.code, r.stderr, tt.code, tt.want)
			}
			if strings.Contains(r.stderr+r.stdout, "hunter2") {
				t.Errorf("output shows the secret")
			}
		})
	}
	if r := cli(t, nil, "version"); r.code != 0 || !strings.HasPrefix(r.stdout, "storagecli ") {
		t.Errorf("version: %+v", r)
	}
}

// signedRequest sends a request signed with AWS Signature V4 and returns
// the status code.
func signedRequest(t *testing.T, method, url, body, ak, sk string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	amzDate, date := now.Format("20060102T150405Z"), now.Format("20060102")
	payload := sha256Hex([]byte(body))
	req.Header.Set("x-amz-date", amzDate)
	req.Header.Set("x-amz-content-sha256", payload)
	path := req.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	signed := "host;x-amz-content-sha256;x-amz-date"
	canonical := strings.Join([]string{method, path, "",
		"host:" + req.URL.Host + "\nx-amz-content-sha256:" + payload + "\nx-amz-date:" + amzDate + "\n",
		signed, payload}, "\n")
	scope := date + "/" + config.DefaultRegion + "/s3/aws4_request"
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + sha256Hex([]byte(canonical))
	key := []byte("AWS4" + sk)
	for _, p := range []string{date, config.DefaultRegion, "s3", "aws4_request"} {
		key = hmacSHA256(key, p)
	}
	req.Header.Set("Authorization", fmt.Sprintf("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
		ak, scope, signed, hex.EncodeToString(hmacSHA256(key, toSign))))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func hmacSHA256(key []byte, s string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(s))
	return h.Sum(nil)
}
