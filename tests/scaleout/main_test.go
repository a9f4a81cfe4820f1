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
	"fmt"
	"os/exec"
	"path/filepath"
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

// TestMain runs the tests and makes sure no process they started outlives
// them: the shared MinIO cluster is closed, and every registered process
// still alive is killed (also shortly before -test.timeout, when the
// testing package panics without running cleanups).
func TestMain(m *testing.M) {
	testproc.Main(m, "scaleout", func() int {
		testproc.OnTimeout(closeClusterNoWait)
		defer closeCluster()
		return m.Run()
	})
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
	dir := filepath.Join(testproc.TempDir(), "minio")
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

// startProc starts bin with args and environment env, its output appended
// to logPath; it is stopped when t ends (see testproc.StartT).
func startProc(t *testing.T, name, addr, logPath string, env []string, bin string, args ...string) *testproc.Proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	return testproc.StartT(t, name, addr, logPath, cmd)
}
