package testproc

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// IsolatedEnv is the environment of the processes and clients the tests
// start: the machine's without AWS_*, BOTO_*, STORAGECLI_*, PYTHONPATH
// and XDG_* settings, with HOME and the XDG directories (where Caddy keeps
// its data and certificates) under home, so that no user configuration is
// read or written.
func IsolatedEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(k, "AWS_"), strings.HasPrefix(k, "BOTO_"), strings.HasPrefix(k, "STORAGECLI_"),
			k == "HOME", strings.HasPrefix(k, "XDG_"), k == "PYTHONPATH":
			continue
		}
		env = append(env, kv)
	}
	_ = os.MkdirAll(home, 0o755)
	return append(env,
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
		"XDG_CACHE_HOME="+filepath.Join(home, ".cache"),
		"PYTHONUNBUFFERED=1",
		"PYTHONDONTWRITEBYTECODE=1",
	)
}

// AWSEnv is the environment of the aws cli and the AWS SDKs (boto3,
// JavaScript) for the key pair: isolated in home, no configuration file,
// no instance metadata lookups, no pager, and trusting the CA in caFile
// (if not "") besides the system's.
func AWSEnv(home, accessKey, secretKey, caFile string) []string {
	cfg := filepath.Join(home, "aws-config")
	_ = os.MkdirAll(home, 0o755)
	_ = os.WriteFile(cfg, []byte("[default]\n"), 0o600)
	env := append(IsolatedEnv(home),
		"AWS_CONFIG_FILE="+cfg,
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "aws-credentials-none"),
		"AWS_ACCESS_KEY_ID="+accessKey,
		"AWS_SECRET_ACCESS_KEY="+secretKey,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_PAGER=",
	)
	if caFile != "" {
		env = append(env, "AWS_CA_BUNDLE="+caFile, "NODE_EXTRA_CA_CERTS="+caFile)
	}
	return env
}

// MissingTool fails t when CI is set (every tool is required there) and
// skips it otherwise.
func MissingTool(t testing.TB, what string, err error) {
	t.Helper()
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is required (CI is set): %v", what, err)
	}
	t.Skipf("%s is not available: %v (set CI=true to make this a failure)", what, err)
}

// RequireTool runs name with args (e.g. `rclone version`) and calls
// MissingTool for what when it fails.
func RequireTool(t testing.TB, what, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		MissingTool(t, what, fmt.Errorf("%s %s: %v: %s", name, QuoteArgs(args), err, out))
	}
}

// Run runs name with args in env (the machine's if nil) and returns its
// stdout; on a non-zero exit or after timeout the error carries the
// command line, how it ended and both outputs.
func Run(env []string, timeout time.Duration, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 2 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s %s: %v\n--- stdout:\n%s\n--- stderr:\n%s",
			name, QuoteArgs(args), err, stdout.String(), stderr.String())
	}
	return stdout.String(), nil
}

// MustRun is Run in a test: it logs the command and how long it took, and
// a failure fails t.
func MustRun(t testing.TB, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := Run(env, timeout, name, args...)
	t.Logf("%s %s (%v)", name, QuoteArgs(args), time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// QuoteArgs renders args for logs.
func QuoteArgs(args []string) string {
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
