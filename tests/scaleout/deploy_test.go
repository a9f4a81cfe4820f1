package scaleout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambda/storagecli/internal/testproc"
)

// deployment is one order served by several gateway processes over the
// shared MinIO cluster, behind one Caddy.
type deployment struct {
	up *upstreamCluster
	// prefix is the order's namespace in the upstream bucket (one per test).
	prefix   string
	gateways []*gateway
	caddy    *testproc.Proc
	// caddyURL is the load balancer's base URL (http://127.0.0.1:port).
	caddyURL string
	dir      string
}

// gateway is one `storagecli gateway run` process of the deployment.
type gateway struct {
	*testproc.Proc
	index int
	home  string
	// node is the upstream endpoint it talks to (see upstreamCluster.endpoint).
	node int
	bin  string
	env  []string
	args []string
}

// url is the gateway's base URL.
func (g *gateway) url() string { return "http://" + g.Addr }

var prefixSeq atomic.Int64

// deploy starts n gateways serving one order (a new prefix of the upstream
// bucket) and a Caddy load-balancing over them, and waits until every
// gateway and Caddy answer a signed ListBuckets. Gateway i talks to MinIO
// node nodes[i%len(nodes)] (every node can serve any object of the
// cluster). Everything is stopped when t ends.
func deploy(t *testing.T, n int, nodes []int) *deployment {
	t.Helper()
	storagecli := testproc.Binary(t, "storagecli")
	caddyBin := testproc.Binary(t, "caddy")
	d := &deployment{
		up:     upstream(t),
		prefix: fmt.Sprintf("%s-%d-%d/", strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())), os.Getpid(), prefixSeq.Add(1)),
		dir:    t.TempDir(),
	}
	for i := range n {
		d.gateways = append(d.gateways, d.startGateway(t, storagecli, i, nodes[i%len(nodes)]))
	}
	d.startCaddy(t, caddyBin)
	return d
}

// userTOML is the configuration of gateway i: the order's key pair, the
// order in upstream mode on MinIO node `node`, and a buffer size small
// enough that the load also exercises streamed PUTs (staging + copy).
func (d *deployment) userTOML(addr string, node int) string {
	return fmt.Sprintf(`[gateway]
address    = %q
access_key = %q
secret_key = %q

[broker]
extra_order_id = %q

[order.%s.upstream]
endpoint    = %q
bucket      = %q
prefix      = %q
access_key  = %q
secret_key  = %q
buffer_size = "1MiB"
`, addr, accessKey, secretKey, orderID, orderID,
		"http://"+d.up.endpoint(node), upstreamBucket, d.prefix, d.up.AccessKey, d.up.SecretKey)
}

// startGateway writes gateway i's home and starts it (retrying once with
// another port if the one picked was taken meanwhile).
func (d *deployment) startGateway(t *testing.T, bin string, i, node int) *gateway {
	t.Helper()
	home := filepath.Join(d.dir, fmt.Sprintf("gw%d", i), "home")
	userHome := filepath.Join(d.dir, fmt.Sprintf("gw%d", i), "user-home")
	for _, dir := range []string{filepath.Join(home, "config"), userHome} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	g := &gateway{index: i, home: home, node: node, bin: bin, env: testproc.IsolatedEnv(userHome),
		args: []string{"gateway", "run", "--home", home, "--debug"}}
	for attempt := 0; ; attempt++ {
		addr := testproc.FreeAddr(t)
		if err := os.WriteFile(filepath.Join(home, "config", "user.toml"), []byte(d.userTOML(addr, node)), 0o600); err != nil {
			t.Fatal(err)
		}
		g.Proc = startProc(t, fmt.Sprintf("gateway %d", i), addr, filepath.Join(d.dir, fmt.Sprintf("gateway%d.log", i)), g.env, bin, g.args...)
		if err := g.waitReady(t); err != nil {
			if attempt == 0 && strings.Contains(g.LogTail(4000), "address already in use") {
				continue
			}
			t.Fatalf("gateway %d: %v\nlog:\n%s", i, err, g.LogTail(6000))
		}
		return g
	}
}

// restart starts the (killed or stopped) gateway again on its address.
func (g *gateway) restart(t *testing.T) {
	t.Helper()
	if !g.Exited() {
		t.Fatalf("gateway %d is still running", g.index)
	}
	g.Proc = startProc(t, g.Name, g.Addr, g.LogPath, g.env, g.bin, g.args...)
	if err := g.waitReady(t); err != nil {
		t.Fatalf("gateway %d after restart: %v\nlog:\n%s", g.index, err, g.LogTail(6000))
	}
}

// waitReady waits until the gateway answers a signed ListBuckets (which
// reaches the upstream), the process exits or a generous deadline passes.
func (g *gateway) waitReady(t *testing.T) error {
	t.Helper()
	cl := sdkClient(t, g.url(), 1)
	deadline := time.Now().Add(60 * time.Second)
	for {
		if g.Exited() {
			return fmt.Errorf("exited before it answered (%v)", g.WaitErr())
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := cl.ListBuckets(ctx, &s3.ListBucketsInput{})
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer to ListBuckets after 60s: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// caddyfile load-balances over the gateways: round robin; a failed dial
// (a dead gateway) is retried on the next one for up to lb_try_duration and
// marks that gateway down for fail_duration. The Host header is passed
// through unchanged (Caddy's default), so the clients' SigV4 signatures
// verify at the gateways. Plain HTTP on loopback only.
func (d *deployment) caddyfile(addr string) string {
	var ups []string
	for _, g := range d.gateways {
		ups = append(ups, g.Addr)
	}
	return fmt.Sprintf(`{
	admin off
	auto_https off
	persist_config off
}

http://%s {
	bind 127.0.0.1
	reverse_proxy %s {
		lb_policy round_robin
		lb_try_duration 30s
		lb_try_interval 250ms
		fail_duration 10s
		max_fails 1
	}
}
`, addr, strings.Join(ups, " "))
}

// startCaddy writes the Caddyfile and starts Caddy, waiting until a signed
// ListBuckets passes through it.
func (d *deployment) startCaddy(t *testing.T, bin string) {
	t.Helper()
	home := filepath.Join(d.dir, "caddy-home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		t.Fatal(err)
	}
	for attempt := 0; ; attempt++ {
		addr := testproc.FreeAddr(t)
		cf := filepath.Join(d.dir, "Caddyfile")
		if err := os.WriteFile(cf, []byte(d.caddyfile(addr)), 0o644); err != nil {
			t.Fatal(err)
		}
		p := startProc(t, "caddy", addr, filepath.Join(d.dir, "caddy.log"), testproc.IsolatedEnv(home),
			bin, "run", "--config", cf, "--adapter", "caddyfile")
		d.caddy, d.caddyURL = p, "http://"+addr
		cl := sdkClient(t, d.caddyURL, 1)
		var err error
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline) && !p.Exited(); time.Sleep(100 * time.Millisecond) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			_, err = cl.ListBuckets(ctx, &s3.ListBucketsInput{})
			cancel()
			if err == nil {
				return
			}
		}
		if attempt == 0 && p.Exited() && strings.Contains(p.LogTail(4000), "address already in use") {
			continue
		}
		t.Fatalf("caddy does not proxy ListBuckets: %v (exited: %v)\nlog:\n%s", err, p.Exited(), p.LogTail(6000))
	}
}

// upstreamNames lists the names the order has in the upstream bucket
// (relative to its prefix), read directly from MinIO node 0.
func (d *deployment) upstreamNames(t *testing.T) []string {
	t.Helper()
	cl, err := upstreamClient(d.up, 0)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for o := range cl.ListObjects(t.Context(), upstreamBucket, minioListOpts(d.prefix)) {
		if o.Err != nil {
			t.Fatalf("listing the upstream: %v", o.Err)
		}
		names = append(names, strings.TrimPrefix(o.Key, d.prefix))
	}
	return names
}
