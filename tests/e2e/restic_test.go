package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestResticVersionedLifecycle: restic backs up into a versioned bucket
// whose lifecycle rule expires noncurrent versions after a day and
// removes expired delete markers, on an order whose lifecycle day is 2
// seconds. Two backups, then forget --prune (which deletes the packs only
// the first snapshot used: each a delete marker over a noncurrent
// version). Once the day has passed the worker has removed every
// noncurrent version and delete marker, restic check --read-data and
// restore still succeed, and the order's usage (read with the gateway
// stopped, and recounted without drift) has dropped by the pruned data.
func TestResticVersionedLifecycle(t *testing.T) {
	testproc.RequireTool(t, "restic", "restic", "version")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(filepath.Join(home, "config", "user.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeOrderConfig(t, home, string(base), "[order.default]\nlifecycle_day = \"2s\"\n")
	logPath := filepath.Join(dir, "gateway.log")
	g, err := startGateway(home, logPath)
	if err != nil {
		t.Fatal(err)
	}
	running := true
	t.Cleanup(func() {
		if running {
			_ = g.Stop(10 * time.Second)
		}
		if t.Failed() {
			t.Logf("gateway log (tail):\n%s", g.LogTail(6000))
		}
	})
	// stop stops the gateway, so that the order's usage can be read
	// exactly (order usage), and returns it, checked by a recount.
	stop := func() int64 {
		t.Helper()
		running = false
		if err := g.Stop(10 * time.Second); err != nil {
			t.Fatal(err)
		}
		return orderUsage(t, home)
	}

	const bucket = "restic-lifecycle"
	c := newS3Client(g)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String(bucket),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String(bucket),
		LifecycleConfiguration: &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{
			ID: aws.String("old-versions"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("")},
			NoncurrentVersionExpiration: &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(1)},
			Expiration:                  &types.LifecycleExpiration{ExpiredObjectDeleteMarker: aws.Bool(true)},
		}}}}); err != nil {
		t.Fatal(err)
	}

	src := filepath.Join(dir, "src")
	writeRandomFile(t, filepath.Join(src, "kept.bin"), 3<<20, 1)
	writeRandomFile(t, filepath.Join(src, "replaced.bin"), 4<<20, 2)
	writeFile(t, filepath.Join(src, "notes", "a.txt"), []byte("restic into a versioned bucket"))
	env := append(testproc.IsolatedEnv(filepath.Join(dir, "restic-home")),
		"AWS_ACCESS_KEY_ID="+accessKey, "AWS_SECRET_ACCESS_KEY="+secretKey,
		"RESTIC_PASSWORD=lifecycle-test-password", "RESTIC_CACHE_DIR="+filepath.Join(dir, "restic-cache"),
		"RESTIC_REPOSITORY=s3:"+g.endpoint()+"/"+bucket+"/repo")
	restic := func(args ...string) string {
		t.Helper()
		return testproc.MustRun(t, env, 3*time.Minute, "restic", args...)
	}
	restic("init")
	restic("backup", "--host", "e2e", src)
	writeRandomFile(t, filepath.Join(src, "replaced.bin"), 4<<20, 3)
	restic("backup", "--host", "e2e", src)
	peak := stop()
	if g, err = startGatewayAt(home, g.addr, logPath); err != nil {
		t.Fatal(err)
	}
	running = true
	c = newS3Client(g)
	restic("forget", "--keep-last", "1", "--prune")

	// After the lifecycle day: only current versions remain.
	var left string
	for end := time.Now().Add(90 * time.Second); ; time.Sleep(time.Second) {
		noncurrent, markers := versionsLeft(ctx, t, c, bucket)
		if noncurrent == 0 && markers == 0 {
			break
		}
		left = fmt.Sprintf("%d noncurrent versions, %d delete markers", noncurrent, markers)
		if time.Now().After(end) {
			t.Fatalf("90 s after forget --prune the lifecycle rule has not applied: %s left", left)
		}
	}
	restic("check", "--read-data")
	out := filepath.Join(dir, "out")
	restic("restore", "latest", "--target", out)
	for _, name := range []string{"kept.bin", "replaced.bin", "notes/a.txt"} {
		if same, diff := sameFile(t, filepath.Join(src, name), filepath.Join(out, src, name)); !same {
			t.Errorf("restored %s differs: %s", name, diff)
		}
	}

	used := stop()
	t.Logf("order usage: %d bytes after two backups, %d after forget --prune and the lifecycle rule", peak, used)
	if used > peak-3<<20 {
		t.Errorf("the order uses %d bytes after the prune and the lifecycle rule, %d before: want at least the 4 MiB pruned freed", used, peak)
	}
}

// orderUsage returns the default order's used bytes as its store counts
// them (order usage, its gateway stopped), failing t when a recount
// finds them drifted.
func orderUsage(t *testing.T, home string) int64 {
	t.Helper()
	out, code, err := storagecli(home, time.Minute, "--home", home, "order", "usage", "--recount", "--json")
	if err != nil || code != 0 {
		t.Fatalf("order usage --recount --json: exit %d, %v\n%s", code, err, out)
	}
	var u struct {
		Bytes int64 `json:"used_bytes"`
		Drift bool  `json:"drift"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.Drift {
		t.Fatalf("order usage --recount --json: %v\n%s", err, out)
	}
	return u.Bytes
}

// versionsLeft counts bucket's noncurrent versions and delete markers.
func versionsLeft(ctx context.Context, t *testing.T, c *s3.Client, bucket string) (noncurrent, markers int) {
	t.Helper()
	p := s3.NewListObjectVersionsPaginator(c, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("ListObjectVersions: %v", err)
		}
		for _, v := range page.Versions {
			if !aws.ToBool(v.IsLatest) {
				noncurrent++
			}
		}
		markers += len(page.DeleteMarkers)
	}
	return noncurrent, markers
}
