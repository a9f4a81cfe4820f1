// Package upstream runs `storagecli gateway run` in upstream mode
// ([order.<id>.upstream]) on a real S3 cluster started by the tests and
// drives it with the aws cli and boto3. The cluster is, by
// $UPSTREAM_ENGINE:
//
//   - minio (the default): a 4-node distributed MinIO cluster
//     (internal/miniotest: separate processes on loopback, two drives
//     each, erasure coding);
//
//   - seaweedfs: a SeaweedFS cluster (internal/seaweedtest: a master, three
//     volume servers with replication 001, a filer, two S3 front ends; the
//     two test orders talk to different front ends).
//
//     go test ./tests/upstream/
//     UPSTREAM_ENGINE=seaweedfs go test ./tests/upstream/
//
// The engine, the aws cli and boto3 are required: without them the tests
// fail when CI is set and are skipped otherwise.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/internal/miniotest"
	"github.com/lambda/storagecli/internal/seaweedtest"
	"github.com/lambda/storagecli/internal/testproc"
)

// upstreamBucket is the one upstream bucket both test orders share.
const upstreamBucket = "orders"

var (
	binPath  string              // the storagecli binary built by TestMain
	cluster  *upstreamCluster    // the upstream S3 cluster
	setupErr error               // why the environment could not be set up
	orders   map[string]*gateway // the gateways of the test orders
)

// upstreamCluster is the cluster of either engine, as the tests use it.
type upstreamCluster struct {
	Engine string
	// Endpoints are the S3 endpoints (host:port); Endpoint is the first.
	Endpoint             string
	Endpoints            []string
	AccessKey, SecretKey string

	stop  func()
	start func() error
	close func()
}

// Stop stops every server of the cluster; Start starts them again.
func (c *upstreamCluster) Stop()        { c.stop() }
func (c *upstreamCluster) Start() error { return c.start() }
func (c *upstreamCluster) Close()       { c.close() }

// engine is $UPSTREAM_ENGINE: "minio" (default) or "seaweedfs".
func engine() string {
	if e := os.Getenv("UPSTREAM_ENGINE"); e != "" {
		return e
	}
	return "minio"
}

// startCluster starts the cluster of engine() under dir.
func startCluster(dir string) (*upstreamCluster, error) {
	switch e := engine(); e {
	case "minio":
		bin, err := miniotest.BinaryPath()
		if err != nil {
			return nil, &noEngine{e, err}
		}
		s, err := miniotest.Launch(bin, miniotest.Options{Nodes: 4, Dir: dir})
		if err != nil {
			return nil, err
		}
		return &upstreamCluster{Engine: e, Endpoint: s.Endpoint, Endpoints: s.Endpoints, AccessKey: s.AccessKey,
			SecretKey: s.SecretKey, stop: s.Stop, start: s.Start, close: s.Close}, nil
	case "seaweedfs":
		bin, err := seaweedtest.BinaryPath()
		if err != nil {
			return nil, &noEngine{e, err}
		}
		c, err := seaweedtest.Launch(bin, seaweedtest.Options{Dir: dir})
		if err != nil {
			return nil, err
		}
		return &upstreamCluster{Engine: e, Endpoint: c.Endpoint, Endpoints: c.Endpoints, AccessKey: c.AccessKey,
			SecretKey: c.SecretKey, stop: c.Stop, start: c.Start, close: c.Close}, nil
	default:
		return nil, fmt.Errorf("UPSTREAM_ENGINE=%q: want minio or seaweedfs", e)
	}
}

func TestMain(m *testing.M) {
	testproc.Main(m, "upstream", func() int {
		defer stopAll()
		setupErr = setup(testproc.TempDir())
		return m.Run()
	})
}

// setup builds storagecli, starts the cluster and one gateway per order.
func setup(tmp string) error {
	var err error
	if binPath, err = testproc.BinaryNow("storagecli"); err != nil {
		return err
	}
	cluster, err = startCluster(filepath.Join(tmp, engine()))
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
	for i, id := range []string{"alpha", "beta"} {
		g, err := startGateway(filepath.Join(tmp, id), id, cluster.Endpoints[i%len(cluster.Endpoints)])
		if err != nil {
			return fmt.Errorf("gateway of order %s: %w", id, err)
		}
		orders[id] = g
	}
	return nil
}

// noEngine is a setup failure because no server binary could be had.
type noEngine struct {
	engine string
	err    error
}

func (e *noEngine) Error() string { return "no " + e.engine + " server binary: " + e.err.Error() }

// env returns the test environment, or ends t when it is missing.
func env(t *testing.T) {
	t.Helper()
	var ne *noEngine
	if errors.As(setupErr, &ne) {
		if ne.engine == "seaweedfs" {
			seaweedtest.Unavailable(t, ne.err)
		}
		miniotest.Unavailable(t, ne.err)
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
		_ = g.Stop(15 * time.Second)
	}
	if cluster != nil {
		cluster.Close()
	}
}

// gateway is a `storagecli gateway run` process serving one order.
type gateway struct {
	*testproc.Proc
	order, home, addr    string
	upstream             string // the upstream S3 endpoint it talks to (host:port)
	accessKey, secretKey string
}

func (g *gateway) endpoint() string { return "http://" + g.addr }

// userTOML is the configuration of a test order's home: the order on the
// upstream bucket under its own prefix, through the S3 endpoint
// upEndpoint. The upstream credentials are not in the file: they come from
// the environment (--account env).
func userTOML(addr, id, upEndpoint, bucket string) string {
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
`, addr, id+"-key", id+"-secret-key", id, id, upEndpoint, bucket, id)
}

// startGateway writes home's configuration and starts the gateway of order
// id (on the upstream S3 endpoint upEndpoint) on a free port, waiting
// until it accepts connections.
func startGateway(home, id, upEndpoint string) (*gateway, error) {
	return startGatewayOn(home, id, upEndpoint, upstreamBucket)
}

// startGatewayOn is startGateway with the order in upstream bucket bucket.
func startGatewayOn(home, id, upEndpoint, bucket string) (*gateway, error) {
	addr, err := testproc.FreeAddrNow()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(home, "config", "user.toml"), []byte(userTOML(addr, id, upEndpoint, bucket)), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command(binPath, "--home", home, "gateway", "run", "--account", "env")
	cmd.Env = gatewayEnv(home)
	p, err := testproc.Start("gateway of order "+id, addr, filepath.Join(home, "gateway.log"), cmd)
	if err != nil {
		return nil, err
	}
	g := &gateway{Proc: p, order: id, home: home, addr: addr, upstream: upEndpoint, accessKey: id + "-key", secretKey: id + "-secret-key"}
	if err := testproc.WaitTCP(addr, p, 30*time.Second); err != nil {
		g.Kill()
		return nil, fmt.Errorf("%w\nlog:\n%s", err, g.LogTail(6000))
	}
	return g, nil
}

// gatewayEnv is the environment of storagecli for home: isolated (the
// user's files are never touched), with the upstream credentials.
func gatewayEnv(home string) []string {
	return append(testproc.IsolatedEnv(filepath.Join(home, "user-home")),
		"STORAGECLI_UPSTREAM_ACCESS_KEY="+cluster.AccessKey,
		"STORAGECLI_UPSTREAM_SECRET_KEY="+cluster.SecretKey)
}

// clientEnv is the aws cli / boto3 environment for g's order keys.
func clientEnv(t *testing.T, g *gateway) []string {
	return append(testproc.AWSEnv(t.TempDir(), g.accessKey, g.secretKey, ""),
		"AWS_DEFAULT_REGION=us-east-1",
		"AWS_MAX_ATTEMPTS=2",
	)
}

// aws runs the aws cli on g and fails the test if it fails.
func aws(t *testing.T, g *gateway, args ...string) string {
	t.Helper()
	return testproc.MustRun(t, clientEnv(t, g), 3*time.Minute, "aws", append([]string{"--endpoint-url", g.endpoint()}, args...)...)
}
