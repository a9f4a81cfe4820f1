package upstream

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/internal/testproc"
)

// lockedBucket is the upstream bucket of the versioning test: created
// with object lock, which turns its versioning on.
const lockedBucket = "orders-locked"

// lockedGateway starts a gateway of order "gamma" on lockedBucket.
func lockedGateway(t *testing.T) *gateway {
	t.Helper()
	g, err := startLocked(t)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = g.Stop(15 * time.Second) })
	return g
}

// startLocked creates lockedBucket upstream and starts a gateway of order
// "gamma" on it.
func startLocked(t *testing.T) (*gateway, error) {
	t.Helper()
	cl, err := rawClient()
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.MakeBucket(context.Background(), lockedBucket, minio.MakeBucketOptions{ObjectLocking: true}); err != nil {
		t.Fatalf("creating the upstream bucket with object lock on %s: %v", cluster.Engine, err)
	}
	return startGatewayOn(filepath.Join(t.TempDir(), "gamma"), "gamma", cluster.Endpoint, lockedBucket)
}

// awsJSON runs the aws cli on g and decodes its JSON output into v.
func awsJSON(t *testing.T, g *gateway, v any, args ...string) {
	t.Helper()
	out := aws(t, g, args...)
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// awsFails runs the aws cli on g, which must fail, and returns its
// failure (with its outputs).
func awsFails(t *testing.T, g *gateway, args ...string) string {
	t.Helper()
	out, err := testproc.Run(clientEnv(t, g), 3*time.Minute, "aws", append([]string{"--endpoint-url", g.endpoint()}, args...)...)
	if err == nil {
		t.Fatalf("aws %s succeeded:\n%s", strings.Join(args, " "), out)
	}
	return err.Error()
}

type listedVersions struct {
	Versions []struct {
		Key, VersionId string
		IsLatest       bool
	}
	DeleteMarkers []struct {
		Key, VersionId string
		IsLatest       bool
	}
}

// TestVersioningAWSCLI drives versioning and object lock through a gateway
// on an upstream bucket with object lock, with the aws cli:
// put-bucket-versioning, overwrites, list-object-versions, get-object
// --version-id, a delete marker and its removal, and a version under
// COMPLIANCE retention that no delete removes.
func TestVersioningAWSCLI(t *testing.T) {
	env(t)
	testproc.RequireTool(t, "the aws cli", "aws", "--version")
	if cluster.Engine == "seaweedfs" {
		// SeaweedFS lists a versioned bucket out of byte order and drops
		// entries from paginated listings: the gateway refuses to serve
		// one, with the reason (docs/upstream.md).
		g, err := startLocked(t)
		if err == nil {
			_ = g.Stop(15 * time.Second)
			t.Fatal("a gateway started on a versioned SeaweedFS bucket")
		}
		if !strings.Contains(err.Error(), "versioned SeaweedFS bucket") {
			t.Fatalf("gateway on a versioned SeaweedFS bucket: %v; want the refusal naming it", err)
		}
		return
	}
	g := lockedGateway(t)
	dir := t.TempDir()
	file := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	aws(t, g, "s3api", "create-bucket", "--bucket", "vers")
	aws(t, g, "s3api", "put-bucket-versioning", "--bucket", "vers", "--versioning-configuration", "Status=Enabled")
	var st struct{ Status string }
	awsJSON(t, g, &st, "s3api", "get-bucket-versioning", "--bucket", "vers")
	if st.Status != "Enabled" {
		t.Fatalf("get-bucket-versioning: %+v", st)
	}
	var p1, p2 struct{ VersionId string }
	awsJSON(t, g, &p1, "s3api", "put-object", "--bucket", "vers", "--key", "doc.txt", "--body", file("one", "first"))
	awsJSON(t, g, &p2, "s3api", "put-object", "--bucket", "vers", "--key", "doc.txt", "--body", file("two", "second!"))
	if p1.VersionId == "" || p2.VersionId == "" || p1.VersionId == p2.VersionId {
		t.Fatalf("version ids %q, %q", p1.VersionId, p2.VersionId)
	}
	var lv listedVersions
	awsJSON(t, g, &lv, "s3api", "list-object-versions", "--bucket", "vers")
	if len(lv.Versions) != 2 || lv.Versions[0].VersionId != p2.VersionId || !lv.Versions[0].IsLatest ||
		lv.Versions[1].VersionId != p1.VersionId || lv.Versions[1].IsLatest {
		t.Errorf("list-object-versions: %+v", lv)
	}
	got := filepath.Join(dir, "got")
	aws(t, g, "s3api", "get-object", "--bucket", "vers", "--key", "doc.txt", "--version-id", p1.VersionId, got)
	if b, _ := os.ReadFile(got); string(b) != "first" {
		t.Errorf("get-object --version-id v1: %q", b)
	}
	var del struct {
		DeleteMarker bool
		VersionId    string
	}
	awsJSON(t, g, &del, "s3api", "delete-object", "--bucket", "vers", "--key", "doc.txt")
	if !del.DeleteMarker || del.VersionId == "" {
		t.Errorf("delete-object: %+v", del)
	}
	if out := awsFails(t, g, "s3api", "head-object", "--bucket", "vers", "--key", "doc.txt"); !strings.Contains(out, "404") {
		t.Errorf("head-object of a deleted key: %s", out)
	}
	awsJSON(t, g, &lv, "s3api", "list-object-versions", "--bucket", "vers")
	if len(lv.DeleteMarkers) != 1 || lv.DeleteMarkers[0].VersionId != del.VersionId || !lv.DeleteMarkers[0].IsLatest || len(lv.Versions) != 2 {
		t.Errorf("list-object-versions after the delete: %+v", lv)
	}
	aws(t, g, "s3api", "delete-object", "--bucket", "vers", "--key", "doc.txt", "--version-id", del.VersionId)
	aws(t, g, "s3api", "get-object", "--bucket", "vers", "--key", "doc.txt", got)
	if b, _ := os.ReadFile(got); string(b) != "second!" {
		t.Errorf("get-object after removing the marker: %q", b)
	}

	// Object lock: a version under COMPLIANCE retention refuses deletion.
	aws(t, g, "s3api", "create-bucket", "--bucket", "locked", "--object-lock-enabled-for-bucket")
	var pl struct{ VersionId string }
	awsJSON(t, g, &pl, "s3api", "put-object", "--bucket", "locked", "--key", "backup.tar", "--body", file("b", "precious"))
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	aws(t, g, "s3api", "put-object-retention", "--bucket", "locked", "--key", "backup.tar", "--version-id", pl.VersionId,
		"--retention", "Mode=COMPLIANCE,RetainUntilDate="+until)
	var ret struct{ Retention struct{ Mode string } }
	awsJSON(t, g, &ret, "s3api", "get-object-retention", "--bucket", "locked", "--key", "backup.tar", "--version-id", pl.VersionId)
	if ret.Retention.Mode != "COMPLIANCE" {
		t.Errorf("get-object-retention: %+v", ret)
	}
	out := awsFails(t, g, "s3api", "delete-object", "--bucket", "locked", "--key", "backup.tar", "--version-id", pl.VersionId,
		"--bypass-governance-retention")
	if !strings.Contains(out, "AccessDenied") {
		t.Errorf("delete-object of a locked version: %s", out)
	}
	awsJSON(t, g, &del, "s3api", "delete-object", "--bucket", "locked", "--key", "backup.tar")
	if !del.DeleteMarker {
		t.Errorf("delete-object without a version id in a lock bucket: %+v", del)
	}
	aws(t, g, "s3api", "get-object", "--bucket", "locked", "--key", "backup.tar", "--version-id", pl.VersionId, got)
	if b, _ := os.ReadFile(got); string(b) != "precious" {
		t.Errorf("locked version after the delete marker: %q", b)
	}
}
