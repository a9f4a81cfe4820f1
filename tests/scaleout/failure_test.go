package scaleout

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/internal/testproc"
)

// phase is how much the load must complete before a fault and again while
// the fault lasts: progress, not time, so that a slow machine only makes
// the test take longer.
var phase = loadCounts{puts: 20, multiparts: 1, gets: 10, lists: 1}

// underLoad creates bucket through Caddy, runs the mixed load, calls fault
// once the load has made progress, waits for as much progress again with
// the fault in place, then stops the load. Every client must have finished
// without giving up; it returns what was acknowledged.
func underLoad(t *testing.T, d *deployment, bucket string, fault func()) map[string]ackedObject {
	t.Helper()
	ctx := t.Context()
	if _, err := sdkClient(t, d.caddyURL, 5).CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("CreateBucket through Caddy: %v", err)
	}
	l := startLoad(t, d.caddyURL, bucket)
	before := l.waitCounts(t, phase, "before the fault")
	l.waitMultipartInFlight(t)
	fault()
	l.waitCounts(t, before.plus(phase), "during the fault")
	l.finish()
	if errs := l.errors(); len(errs) > 0 {
		t.Fatalf("clients gave up: %v", errors.Join(errs...))
	}
	acked := l.led.snapshot()
	t.Logf("load done: %s; %d objects acknowledged; the clients met %s, and repeated %d whole operations",
		l.counts(), len(acked), &l.trips, l.retried.Load())
	return acked
}

// checkListing lists bucket through cl and checks that every acknowledged
// object is there with its size.
func checkListing(t *testing.T, what string, cl *s3.Client, bucket string, acked map[string]ackedObject) {
	t.Helper()
	listed := map[string]int64{}
	p := s3.NewListObjectsV2Paginator(cl, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), MaxKeys: aws.Int32(100)})
	for p.HasMorePages() {
		ctx, cancel := opContext(t.Context())
		page, err := p.NextPage(ctx)
		cancel()
		if err != nil {
			t.Fatalf("%s: listing: %v", what, err)
		}
		for _, o := range page.Contents {
			listed[aws.ToString(o.Key)] = aws.ToInt64(o.Size)
		}
	}
	var missing []string
	for k, o := range acked {
		if size, ok := listed[k]; !ok || size != o.size {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		t.Errorf("%s: the listing misses %d acknowledged objects: %v", what, len(missing), missing)
	}
}

// TestGatewayKilledUnderLoad SIGKILLs one of three gateways while clients
// PUT, GET, upload multipart and list through Caddy. Caddy retries the
// failed dials on the other gateways, the clients retry what was cut off
// (502 from Caddy, broken bodies), every client finishes, and every
// acknowledged object reads back intact through Caddy, through a surviving
// gateway, and through the killed gateway once restarted (it keeps no
// state: the restart needs no recovery).
func TestGatewayKilledUnderLoad(t *testing.T) {
	d := deploy(t, 3, []int{0, 1, 2})
	const bucket = "killed-gateway"
	victim := d.gateways[1]
	acked := underLoad(t, d, bucket, func() {
		t.Logf("SIGKILL gateway %d (pid %d)", victim.index, victim.Cmd.Process.Pid)
		victim.Kill()
	})

	verifyAll(t, "through Caddy (aws-sdk-go-v2)", acked, sdkGetter(sdkClient(t, d.caddyURL, 10), bucket))
	verifyAll(t, "through gateway 0 (minio-go)", acked, minioGetter(minioClient(t, d.gateways[0].url()), bucket))
	checkListing(t, "gateway 2", sdkClient(t, d.gateways[2].url(), 5), bucket, acked)

	victim.restart(t)
	verifyAll(t, "through the restarted gateway 1 (aws-sdk-go-v2)", acked, sdkGetter(sdkClient(t, victim.url(), 5), bucket))
}

// TestMinIONodeStoppedUnderLoad kills one MinIO node of four (SIGKILL, a
// crash; 8 drives with the default EC:4 parity keep read and write quorum
// with 6) while clients work through Caddy and three gateways. The node
// is one no gateway talks to, so this tests the cluster's erasure coding
// under the gateways, not the gateways' handling of an unreachable
// upstream. Reads and writes continue (the load must make progress with
// the node down), nothing acknowledged is lost (read back with the node
// down, and again after it is restarted through a new gateway talking to
// the restarted node itself).
func TestMinIONodeStoppedUnderLoad(t *testing.T) {
	needEngine(t, "minio")
	d := deploy(t, 3, []int{0, 1, 2})
	const bucket = "stopped-node"
	const node = 3
	// Whatever happens, the shared cluster gets its node back.
	t.Cleanup(func() {
		if err := d.up.minio.Start(); err != nil {
			t.Errorf("restarting the MinIO cluster: %v", err)
		}
	})
	acked := underLoad(t, d, bucket, func() {
		pid := d.up.minio.PIDs()[node]
		t.Logf("SIGKILL MinIO node %d (%s, pid %d)", node, d.up.minio.Endpoints[node], pid)
		if pid > 0 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		d.up.minio.StopNode(node) // reaps it
	})

	verifyAll(t, "with the node down, through Caddy (aws-sdk-go-v2)", acked, sdkGetter(sdkClient(t, d.caddyURL, 10), bucket))
	checkListing(t, "with the node down, gateway 1", sdkClient(t, d.gateways[1].url(), 5), bucket, acked)

	// A sentinel written (outside the order's prefix) while the node is
	// down tells when the restarted node has rejoined: see waitRejoined.
	sentinel := "scaleout-sentinel/" + d.prefix + "written-while-down"
	up0, err := upstreamClient(d.up, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := up0.PutObject(t.Context(), upstreamBucket, sentinel, strings.NewReader("x"), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatalf("writing the sentinel with the node down: %v", err)
	}
	start := time.Now()
	if err := d.up.minio.StartNode(node); err != nil {
		t.Fatalf("restarting MinIO node %d: %v", node, err)
	}
	if err := d.up.minio.WaitReady(3 * time.Minute); err != nil {
		t.Fatalf("MinIO node %d after restart: %v", node, err)
	}
	waitRejoined(t, d, node, sentinel)
	t.Logf("MinIO node %d back in %v", node, time.Since(start).Round(time.Millisecond))

	// A fourth gateway on the restarted node reads everything back, and
	// writes work again through it.
	g := d.startGateway(t, testproc.Binary(t, "storagecli"), len(d.gateways), node)
	d.gateways = append(d.gateways, g)
	verifyAll(t, fmt.Sprintf("after the restart, through a gateway on node %d (minio-go)", node), acked, minioGetter(minioClient(t, g.url()), bucket))
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	if _, err := sdkClient(t, g.url(), 10).PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("after-restart")}); err != nil {
		t.Errorf("PutObject through the gateway on the restarted node: %v", err)
	}
}

// waitRejoined waits until the restarted MinIO node serves an object
// written while it was down. Its /minio/health/ready and
// /minio/health/cluster answer 200 a moment before that: in between, the
// pinned MinIO answers "Server not initialized yet" and then, for about
// half a second, NoSuchKey for objects that exist (it reads only the drives
// it has reconnected to). A client of the rejoining node (here: a gateway
// on it) would see false 404s in that window; that is MinIO's behaviour,
// not the gateway's, so the test waits it out before reading through it.
func waitRejoined(t *testing.T, d *deployment, node int, sentinel string) {
	t.Helper()
	cl, err := upstreamClient(d.up, node)
	if err != nil {
		t.Fatal(err)
	}
	var polls int
	testproc.WaitFor(t, nil, 3*time.Minute, fmt.Sprintf("MinIO node %d serving an object written while it was down", node), func() error {
		polls++
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		_, err := cl.StatObject(ctx, upstreamBucket, sentinel, minio.StatObjectOptions{})
		return err
	})
	if polls > 1 {
		t.Logf("MinIO node %d: ready, but the sentinel was found only at poll %d", node, polls)
	}
}

// TestVolumeServerStoppedUnderLoad kills one SeaweedFS volume server of
// three (SIGKILL, a crash) while clients work through Caddy and three
// gateways (on both S3 front ends). Replication 001 keeps every needle on
// two servers: reads go on from the other copy, and writes go on once the
// master has dropped the dead server (its heartbeats stopped) and places
// new needles on the volumes the two others hold. Nothing acknowledged is
// lost: it reads back with the server down, and again after it restarted.
func TestVolumeServerStoppedUnderLoad(t *testing.T) {
	needEngine(t, "seaweedfs")
	d := deploy(t, 3, []int{0, 1, 2})
	w := d.up.weed
	const bucket = "stopped-volume"
	const vol = 2
	// Whatever happens, the shared cluster gets its server back.
	t.Cleanup(func() {
		if err := w.StartVolume(vol); err != nil {
			t.Errorf("restarting SeaweedFS volume server %d: %v", vol, err)
		}
	})
	acked := underLoad(t, d, bucket, func() {
		t.Logf("SIGKILL SeaweedFS volume server %d", vol)
		w.KillVolume(vol)
	})

	verifyAll(t, "with the volume server down, through Caddy (aws-sdk-go-v2)", acked, sdkGetter(sdkClient(t, d.caddyURL, 10), bucket))
	checkListing(t, "with the volume server down, gateway 1", sdkClient(t, d.gateways[1].url(), 5), bucket, acked)

	start := time.Now()
	if err := w.StartVolume(vol); err != nil {
		t.Fatalf("restarting SeaweedFS volume server %d: %v", vol, err)
	}
	t.Logf("SeaweedFS volume server %d back in %v", vol, time.Since(start).Round(time.Millisecond))
	verifyAll(t, "after the restart, through gateway 2 (minio-go)", acked, minioGetter(minioClient(t, d.gateways[2].url()), bucket))
}
