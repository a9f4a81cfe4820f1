// Package scaleout tests upstream mode as it is deployed to scale out:
// several stateless `storagecli gateway run` processes serving one order
// whose data lives on a 4-node distributed (erasure-coded) MinIO cluster,
// behind the Caddy built from ./cmd/caddy load-balancing over them with
// `reverse_proxy` (round robin, passive health checks, retries of failed
// dials). Everything is a real process on loopback; the clients are
// aws-sdk-go-v2, minio-go and the aws cli, with their retries.
//
// The tests:
//
//   - TestScaleOut: a multipart upload whose parts go through different
//     gateways completes through Caddy and reads back byte for byte;
//     listings through any gateway see objects written through another;
//     the aws cli copies a multipart object through Caddy.
//   - TestGatewayKilledUnderLoad: one gateway is SIGKILLed during a mixed
//     load (PUT, GET, multipart, paginated listings) through Caddy; every
//     client finishes and every acknowledged object reads back intact.
//   - TestMinIONodeStoppedUnderLoad: one MinIO node of four is killed
//     (SIGKILL) during the load; reads and writes continue, nothing
//     acknowledged is lost, and the node is restarted afterwards.
//
// Run with:
//
//	CI=true go test -count=1 ./tests/scaleout/
//
// MinIO is built once from the version pinned in tools/minio (see
// internal/miniotest; $MINIO_BIN overrides it); ./cmd/storagecli and
// ./cmd/caddy are built once per run ($SCALEOUT_STORAGECLI and
// $SCALEOUT_CADDY name prebuilt binaries instead). MinIO and the aws cli are
// required: without them the tests fail when CI is set and are skipped
// otherwise.
package scaleout

import (
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/internal/miniotest"
	"github.com/lambda/storagecli/internal/testproc"
)

// The credentials clients use with the gateways (the order's [gateway]
// key pair), and the upstream bucket on the MinIO cluster.
const (
	accessKey      = "scaleout-access"
	secretKey      = "scaleout-secret-key"
	upstreamBucket = "orders"
	orderID        = "o1"
)

var (
	// repoRoot is the module root (where go.mod lives).
	repoRoot string
	// tmpRoot holds the built binaries and everything the tests create
	// outside t.TempDir (the shared cluster's drives).
	tmpRoot string
)

// TestMain runs the tests and makes sure no process they started outlives
// them: the shared MinIO cluster is closed, and every registered process
// still alive is killed (also shortly before -test.timeout, when the
// testing package panics without running cleanups).
func TestMain(m *testing.M) {
	flag.Parse()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	defer testproc.KillAll("scaleout")
	testproc.ArmTimeoutWatchdog(func() { closeClusterNoWait(); testproc.KillAll("scaleout") })
	wd, err := os.Getwd()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	repoRoot = filepath.Clean(filepath.Join(wd, "..", ".."))
	if _, err := os.Stat(filepath.Join(repoRoot, "go.mod")); err != nil {
		fmt.Fprintf(os.Stderr, "scaleout: cannot find the module root: %v\n", err)
		return 1
	}
	if tmpRoot, err = os.MkdirTemp("", "storagecli-scaleout-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmpRoot)
	builds = testproc.Builder{RepoRoot: repoRoot, OutDir: filepath.Join(tmpRoot, "bin")}
	defer closeCluster()
	return m.Run()
}

// ---------------------------------------------------------------------------
// Binaries.

// builds builds the binaries into tmpRoot/bin (set up by runMain).
var builds testproc.Builder

// buildBinary builds ./cmd/<name> once per test binary and returns its
// path. SCALEOUT_<NAME>=/path uses a given binary instead.
func buildBinary(t *testing.T, name string) string {
	t.Helper()
	if p := os.Getenv("SCALEOUT_" + strings.ToUpper(name)); p != "" {
		builds.Use(name, p)
	}
	return builds.Build(t, name)
}

// ---------------------------------------------------------------------------
// The shared MinIO cluster: started once per test binary (it takes a while
// on a small machine), one upstream bucket; each test has its own order
// prefix in it.

var (
	clusterMu  sync.Mutex
	cluster    *miniotest.Server
	clusterErr error
)

// minioCluster returns the shared 4-node cluster, starting it on first use.
// Without a MinIO binary the test fails in CI and is skipped elsewhere.
func minioCluster(t *testing.T) *miniotest.Server {
	t.Helper()
	bin := miniotest.Binary(t)
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if cluster != nil {
		// A test stopped a node and failed before restarting it.
		if err := cluster.Start(); err != nil {
			t.Fatalf("restarting the MinIO cluster: %v", err)
		}
		return cluster
	}
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	start := time.Now()
	dir := filepath.Join(tmpRoot, "minio")
	s, err := miniotest.Launch(bin, miniotest.Options{Nodes: 4, Dir: dir, StartTimeout: 3 * time.Minute})
	if err == nil {
		err = makeUpstreamBucket(s)
		if err != nil {
			s.Close()
		}
	}
	if err != nil {
		clusterErr = fmt.Errorf("starting the 4-node MinIO cluster: %w", err)
		t.Fatal(clusterErr)
	}
	t.Logf("4-node MinIO cluster ready in %v: %v", time.Since(start).Round(time.Millisecond), s.Endpoints)
	cluster = s
	return s
}

func closeCluster() {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if cluster != nil {
		cluster.Close()
		cluster = nil
	}
}

// upstreamClient is a minio-go client of the cluster's node i with the
// root credentials: the tests look at the upstream directly with it.
func upstreamClient(s *miniotest.Server, i int) (*minio.Client, error) {
	return minio.New(s.Endpoints[i], &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, s.SecretKey, "")})
}

func makeUpstreamBucket(s *miniotest.Server) error {
	cl, err := upstreamClient(s, 0)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// Right after startup the cluster may still answer 503 for a moment;
	// minio-go retries those.
	return cl.MakeBucket(ctx, upstreamBucket, minio.MakeBucketOptions{})
}

// ---------------------------------------------------------------------------
// Process bookkeeping: every process the tests start is registered so that
// it can be killed when a test fails, panics or the run times out.

// closeClusterNoWait kills the cluster's nodes without taking the lock (a
// test may hold it while the watchdog fires).
func closeClusterNoWait() {
	if s := cluster; s != nil {
		for _, pid := range s.PIDs() {
			if pid > 0 {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	}
}

// proc is a server process started by a test.
type proc struct {
	name    string
	addr    string // host:port it serves on
	logPath string
	cmd     *exec.Cmd
	done    chan struct{} // closed when it has exited
	waitErr error
}

// startProc starts bin with args, environment env and output appended to
// logPath. The process dies with the test binary (Pdeathsig) and is
// stopped when t ends; a failing test gets the end of its log.
func startProc(t *testing.T, name, addr, logPath string, env []string, bin string, args ...string) *proc {
	t.Helper()
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(lf, "\n==== %s: starting %s on %s\n", time.Now().Format(time.RFC3339Nano), name, addr)
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.Stdout, cmd.Stderr = lf, lf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{name: name, addr: addr, logPath: logPath, cmd: cmd, done: make(chan struct{})}
	testproc.Register(cmd.Process.Pid, name)
	go func() {
		p.waitErr = cmd.Wait()
		lf.Close()
		testproc.Unregister(cmd.Process.Pid)
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(15 * time.Second)
		if t.Failed() {
			t.Logf("%s log %s (end):\n%s", name, logPath, testproc.FileTail(logPath, 6000))
		}
	})
	return p
}

// exited reports whether the process has ended.
func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// kill SIGKILLs the process and waits until it is reaped.
func (p *proc) kill() {
	if !p.exited() {
		_ = p.cmd.Process.Kill()
	}
	<-p.done
}

// stop sends SIGTERM, waits up to grace, then SIGKILLs.
func (p *proc) stop(grace time.Duration) {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		p.kill()
	}
}

// freeAddr returns a loopback address whose TCP port was free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls cond every 100ms until it returns nil, p exits, or timeout
// passes; it fails the test with the last error.
func waitFor(t *testing.T, p *proc, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if p != nil && p.exited() {
			t.Fatalf("%s exited (%v) before %s; log:\n%s", p.name, p.waitErr, what, testproc.FileTail(p.logPath, 6000))
		}
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: still failing after %v: %v", what, timeout, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// isolatedEnv is the environment of the child processes: the machine's
// without AWS_*/BOTO_* settings, with HOME and the XDG directories under
// home (so no user configuration is read or written).
func isolatedEnv(home string) []string {
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
	return append(env,
		"HOME="+home,
		"XDG_DATA_HOME="+filepath.Join(home, ".local", "share"),
		"XDG_CONFIG_HOME="+filepath.Join(home, ".config"),
	)
}
