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
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// repoRoot is the module root (where go.mod lives).
var repoRoot string

func TestMain(m *testing.M) {
	testproc.Main(m, "caddy", func() int {
		repoRoot = testproc.RepoRoot()
		return m.Run()
	})
}

// The helpers of this package's tests, from testproc.

// buildBinary builds ./cmd/<name> once and returns its path.
func buildBinary(t *testing.T, name string) string { t.Helper(); return testproc.Binary(t, name) }

// missingTool fails the test in CI and skips it elsewhere.
func missingTool(t *testing.T, what string, err error) {
	t.Helper()
	testproc.MissingTool(t, what, err)
}

func requireAWS(t *testing.T) { t.Helper(); testproc.RequireTool(t, "the aws cli", "aws", "--version") }

func requireBoto3(t *testing.T) {
	t.Helper()
	testproc.RequireTool(t, "python3 with boto3", "python3", "-c", "import boto3")
}

// freePort returns a TCP port free on 127.0.0.1, UDP too.
func freePort(t *testing.T) int { return testproc.FreePort(t) }

// isolatedEnv is the environment of the processes, HOME and XDG in home.
func isolatedEnv(home string) []string { return testproc.IsolatedEnv(home) }

// startProcess starts bin with args in dir, with HOME and Caddy's XDG
// directories in home, logging to dir/<name>.log; it is stopped when t
// ends.
func startProcess(t *testing.T, name, dir, home string, env []string, bin string, args ...string) *testproc.Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(isolatedEnv(home), env...)
	return testproc.StartT(t, name, "", filepath.Join(dir, name+".log"), cmd)
}

// clientEnv is the environment of the aws cli and boto3: isolated, with
// the keys, and trusting the CA in caFile.
func clientEnv(home, ak, sk, caFile string) []string { return testproc.AWSEnv(home, ak, sk, caFile) }

// run runs name with args in env and returns its stdout; a non-zero exit
// fails the test with both outputs.
func run(t *testing.T, env []string, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	return testproc.MustRun(t, env, timeout, name, args...)
}
