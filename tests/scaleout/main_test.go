// Package scaleout tests upstream mode as it is deployed to scale out:
// several stateless `storagecli gateway run` processes serving one order
// whose data lives on a 4-node distributed (erasure-coded) MinIO cluster
// (or, with UPSTREAM_ENGINE=seaweedfs, a SeaweedFS cluster: a master, three
// volume servers with replication 001, a filer, two S3 front ends),
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
//   - TestVolumeServerStoppedUnderLoad (SeaweedFS): one volume server of
//     three is killed (SIGKILL) during the load; likewise.
//
// Run with:
//
//	CI=true go test -count=1 ./tests/scaleout/
//	CI=true UPSTREAM_ENGINE=seaweedfs go test -count=1 ./tests/scaleout/
//
// MinIO is built once from the version pinned in tools/minio (see
// internal/miniotest; $MINIO_BIN overrides it), SeaweedFS likewise from
// tools/seaweedfs (internal/seaweedtest; $WEED_BIN); ./cmd/storagecli and
// ./cmd/caddy are built once per run ($SCALEOUT_STORAGECLI and
// $SCALEOUT_CADDY name prebuilt binaries instead). The engine and the aws
// cli are required: without them the tests fail when CI is set and are
// skipped otherwise.
package scaleout

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/internal/miniotest"
	"github.com/lambda/storagecli/internal/seaweedtest"
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
// The shared upstream cluster: started once per test binary (it takes a
// while on a small machine), one upstream bucket; each test has its own
// order prefix in it. $UPSTREAM_ENGINE picks it: "minio" (the default), a
// 4-node distributed MinIO cluster; "seaweedfs", a SeaweedFS cluster (a
// master, three volume servers with replication 001, a filer and two S3
// front ends).

var (
	clusterMu  sync.Mutex
	cluster    *upstreamCluster
	clusterErr error
)

// upstreamCluster is the cluster of either engine.
type upstreamCluster struct {
	engine string
	// Endpoints are the S3 endpoints (host:port): MinIO's nodes, or
	// SeaweedFS's S3 front ends.
	Endpoints            []string
	AccessKey, SecretKey string
	minio                *miniotest.Server    // engine "minio"
	weed                 *seaweedtest.Cluster // engine "seaweedfs"
}

// endpoint is the S3 endpoint gateway node numbers map to (round robin
// over the cluster's endpoints).
func (c *upstreamCluster) endpoint(node int) string { return c.Endpoints[node%len(c.Endpoints)] }

// start starts whatever server of the cluster is stopped.
func (c *upstreamCluster) start() error {
	if c.weed != nil {
		return c.weed.Start()
	}
	return c.minio.Start()
}

// pids are the cluster's server processes (0: stopped).
func (c *upstreamCluster) pids() []int {
	if c.weed != nil {
		return c.weed.PIDs()
	}
	return c.minio.PIDs()
}

func (c *upstreamCluster) close() {
	if c.weed != nil {
		c.weed.Close()
		return
	}
	c.minio.Close()
}

// upstreamEngine is $UPSTREAM_ENGINE: "minio" (default) or "seaweedfs".
func upstreamEngine() string {
	if e := os.Getenv("UPSTREAM_ENGINE"); e != "" {
		return e
	}
	return "minio"
}

// needEngine skips t unless the cluster is of engine e (a test of one
// engine's failure modes).
func needEngine(t *testing.T, e string) {
	t.Helper()
	if upstreamEngine() != e {
		t.Skipf("a test of the %s upstream (UPSTREAM_ENGINE=%s)", e, upstreamEngine())
	}
}

// upstream returns the shared cluster, starting it on first use. Without
// the engine's binary the test fails in CI and is skipped elsewhere.
func upstream(t *testing.T) *upstreamCluster {
	t.Helper()
	engine := upstreamEngine()
	var bin string
	switch engine {
	case "minio":
		bin = miniotest.Binary(t)
	case "seaweedfs":
		bin = seaweedtest.Binary(t)
	default:
		t.Fatalf("UPSTREAM_ENGINE=%q: want minio or seaweedfs", engine)
	}
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if cluster != nil {
		// A test stopped a server and failed before restarting it.
		if err := cluster.start(); err != nil {
			t.Fatalf("restarting the %s cluster: %v", engine, err)
		}
		return cluster
	}
	if clusterErr != nil {
		t.Fatal(clusterErr)
	}
	start := time.Now()
	c, err := launch(engine, bin, filepath.Join(testproc.TempDir(), engine))
	if err == nil {
		err = makeUpstreamBucket(c)
		if err != nil {
			c.close()
		}
	}
	if err != nil {
		clusterErr = fmt.Errorf("starting the %s cluster: %w", engine, err)
		t.Fatal(clusterErr)
	}
	t.Logf("%s cluster ready in %v: %v", engine, time.Since(start).Round(time.Millisecond), c.Endpoints)
	cluster = c
	return c
}

// launch starts the cluster of engine with the binary bin under dir.
func launch(engine, bin, dir string) (*upstreamCluster, error) {
	if engine == "seaweedfs" {
		w, err := seaweedtest.Launch(bin, seaweedtest.Options{Dir: dir})
		if err != nil {
			return nil, err
		}
		return &upstreamCluster{engine: engine, Endpoints: w.Endpoints, AccessKey: w.AccessKey, SecretKey: w.SecretKey, weed: w}, nil
	}
	s, err := miniotest.Launch(bin, miniotest.Options{Nodes: 4, Dir: dir, StartTimeout: 3 * time.Minute})
	if err != nil {
		return nil, err
	}
	return &upstreamCluster{engine: engine, Endpoints: s.Endpoints, AccessKey: s.AccessKey, SecretKey: s.SecretKey, minio: s}, nil
}

func closeCluster() {
	clusterMu.Lock()
	defer clusterMu.Unlock()
	if cluster != nil {
		cluster.close()
		cluster = nil
	}
}

// upstreamClient is a minio-go client of the cluster's endpoint i with
// its admin credentials: the tests look at the upstream directly with it.
func upstreamClient(c *upstreamCluster, i int) (*minio.Client, error) {
	return minio.New(c.endpoint(i), &minio.Options{Creds: credentials.NewStaticV4(c.AccessKey, c.SecretKey, "")})
}

func makeUpstreamBucket(c *upstreamCluster) error {
	cl, err := upstreamClient(c, 0)
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
	if c := cluster; c != nil {
		for _, pid := range c.pids() {
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
