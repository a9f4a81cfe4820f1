// Package upstream runs `storagecli gateway run` in upstream mode
// ([order.<id>.upstream]) on a 4-node distributed MinIO cluster started by
// the tests (internal/miniotest: separate processes on loopback, two
// drives each, erasure coding) and drives it with the aws cli and boto3.
//
//	go test ./tests/upstream/
//
// MinIO, the aws cli and boto3 are required: without them the tests fail
// when CI is set and are skipped otherwise.
package upstream

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/internal/miniotest"
)

// upstreamBucket is the one upstream bucket both test orders share.
const upstreamBucket = "orders"

var (
	binPath  string              // the storagecli binary built by TestMain
	cluster  *miniotest.Server   // the 4-node MinIO cluster
	setupErr error               // why the environment could not be set up
	orders   map[string]*gateway // the gateways of the test orders
)

func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(run(m))
}

func run(m *testing.M) int {
	tmp, err := os.MkdirTemp("", "storagecli-upstream-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	defer stopAll()
	setupErr = setup(tmp)
	return m.Run()
}

// setup builds storagecli, starts the cluster and one gateway per order.
func setup(tmp string) error {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		return err
	}
	binPath = filepath.Join(tmp, "storagecli")
	build := exec.Command("go", "build", "-o", binPath, "./cmd/storagecli")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/storagecli: %v\n%s", err, out)
	}
	bin, err := miniotest.BinaryPath()
	if err != nil {
		return &noMinIO{err}
	}
	cluster, err = miniotest.Launch(bin, miniotest.Options{Nodes: 4, Dir: filepath.Join(tmp, "minio")})
	if err != nil {
		return err
	}
	cl, err := rawClient()
	if err != nil {
		return err
	}
	if err := cl.MakeBucket(context.Background(), upstreamBucket, minio.MakeBucketOptions{}); err != nil {
		return err
	}
	orders = map[string]*gateway{}
	for _, id := range []string{"alpha", "beta"} {
		g, err := startGateway(filepath.Join(tmp, id), id)
		if err != nil {
			return fmt.Errorf("gateway of order %s: %w", id, err)
		}
		orders[id] = g
	}
	return nil
}

// noMinIO is a setup failure because no MinIO binary could be had.
type noMinIO struct{ err error }

func (e *noMinIO) Error() string { return "no MinIO server binary: " + e.err.Error() }

// env returns the test environment, or ends t when it is missing.
func env(t *testing.T) {
	t.Helper()
	var nm *noMinIO
	if errors.As(setupErr, &nm) {
		miniotest.Unavailable(t, nm.err)
	}
	if setupErr != nil {
		t.Fatalf("setup: %v", setupErr)
	}
}

// rawClient is a client of the upstream itself (the cluster's root
// credentials), to look at what the gateways stored.
func rawClient() (*minio.Client, error) {
	return minio.New(cluster.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(cluster.AccessKey, cluster.SecretKey, "")})
}

func stopAll() {
	for _, g := range orders {
		g.stop()
	}
	if cluster != nil {
		cluster.Close()
	}
}

// gateway is a `storagecli gateway run` process serving one order.
type gateway struct {
	order, home, addr, log string
	accessKey, secretKey   string
	cmd                    *exec.Cmd
	done                   chan struct{}
}

func (g *gateway) endpoint() string { return "http://" + g.addr }

// userTOML is the configuration of a test order's home: the order on the
// shared upstream bucket under its own prefix. The upstream credentials
// are not in the file: they come from the environment (--account env).
func userTOML(addr, id string) string {
	return fmt.Sprintf(`[gateway]
address    = %q
access_key = %q
secret_key = %q

[broker]
extra_order_id = %q

[order.%s.upstream]
endpoint = "http://%s"
bucket   = %q
prefix   = "%s/"
`, addr, id+"-key", id+"-secret-key", id, id, cluster.Endpoint, upstreamBucket, id)
}

// startGateway writes home's configuration and starts the gateway of order
// id on a free port, waiting until it accepts connections.
func startGateway(home, id string) (*gateway, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := l.Addr().String()
	l.Close()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, "config", "user.toml"), []byte(userTOML(addr, id)), 0o600); err != nil {
		return nil, err
	}
	g := &gateway{order: id, home: home, addr: addr, log: filepath.Join(home, "gateway.log"),
		accessKey: id + "-key", secretKey: id + "-secret-key", done: make(chan struct{})}
	logf, err := os.Create(g.log)
	if err != nil {
		return nil, err
	}
	g.cmd = exec.Command(binPath, "--home", home, "gateway", "run", "--account", "env")
	g.cmd.Env = append(cleanEnv(home),
		"STORAGECLI_UPSTREAM_ACCESS_KEY="+cluster.AccessKey,
		"STORAGECLI_UPSTREAM_SECRET_KEY="+cluster.SecretKey)
	g.cmd.Stdout, g.cmd.Stderr = logf, logf
	g.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := g.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { g.cmd.Wait(); logf.Close(); close(g.done) }()
	for deadline := time.Now().Add(30 * time.Second); ; {
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return g, nil
		}
		select {
		case <-g.done:
			b, _ := os.ReadFile(g.log)
			return nil, fmt.Errorf("exited before serving:\n%s", b)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			g.stop()
			return nil, errors.New("not serving after 30s")
		}
	}
}

// stop ends the gateway (SIGTERM, then SIGKILL).
func (g *gateway) stop() {
	if g == nil || g.cmd == nil || g.cmd.Process == nil {
		return
	}
	g.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-g.done:
	case <-time.After(15 * time.Second):
		g.cmd.Process.Kill()
		<-g.done
	}
}

// cleanEnv is the environment of processes of the tests: no AWS_*
// variables, HOME next to home (the user's files are never touched).
func cleanEnv(home string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AWS_") || strings.HasPrefix(kv, "HOME=") ||
			strings.HasPrefix(kv, "STORAGECLI_") {
			continue
		}
		env = append(env, kv)
	}
	fake := filepath.Join(home, "user-home")
	_ = os.MkdirAll(fake, 0o755)
	return append(env, "HOME="+fake)
}

// clientEnv is the aws cli / boto3 environment for g's order keys.
func clientEnv(t *testing.T, g *gateway) []string {
	dir := t.TempDir()
	return append(cleanEnv(dir),
		"AWS_ACCESS_KEY_ID="+g.accessKey,
		"AWS_SECRET_ACCESS_KEY="+g.secretKey,
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_CONFIG_FILE="+filepath.Join(dir, "none"),
		"AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(dir, "none"),
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_MAX_ATTEMPTS=2",
	)
}

// requireTool fails (CI) or skips the test without the named program.
func requireTool(t *testing.T, name string, args ...string) {
	t.Helper()
	if err := exec.Command(name, args...).Run(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required (CI is set): %v", name, err)
		}
		t.Skipf("%s is not available: %v", name, err)
	}
}

// runCmd runs name with args and env, returning its combined output.
func runCmd(t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	cmd.WaitDelay = 2 * time.Second
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s", name, strings.Join(args, " "))
	return string(out), err
}

// aws runs the aws cli on g and fails the test if it fails.
func aws(t *testing.T, g *gateway, args ...string) string {
	t.Helper()
	out, err := runCmd(t, clientEnv(t, g), "aws", append([]string{"--endpoint-url", g.endpoint()}, args...)...)
	if err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}
