package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAWSCLILifecycle: a gateway whose order has a 1-second lifecycle day
// (lifecycle_day); the aws cli sets a lifecycle configuration (expire
// logs/ after 2 days, noncurrent versions after 1 day, uploads after 1
// day), reads it back, and the background worker applies it: the log
// object expires (a delete marker in the versioned bucket), its
// noncurrent version goes, the unfinished upload is aborted, and the
// objects no rule expires yet stay.
func TestAWSCLILifecycle(t *testing.T) {
	requireAWS(t)
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	base, err := os.ReadFile(filepath.Join(home, "config", "user.toml"))
	if err != nil {
		t.Fatal(err)
	}
	writeOrderConfig(t, home, string(base), "[order.default]\nlifecycle_day = \"1s\"\n")
	g, err := startGateway(home, filepath.Join(dir, "gateway.log"))
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, g)
	env := clientEnv(t)
	const bucket = "awscli-lifecycle"
	s3api(t, env, g, nil, "create-bucket", "--bucket", bucket)
	s3api(t, env, g, nil, "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
	body := filepath.Join(dir, "body")
	writeFile(t, body, []byte("log line"))
	for _, key := range []string{"logs/a.log", "logs/a.log", "keep.txt", "archive/old.txt"} {
		s3api(t, env, g, nil, "put-object", "--bucket", bucket, "--key", key, "--body", body)
	}
	var up struct{ UploadId string }
	s3api(t, env, g, &up, "create-multipart-upload", "--bucket", bucket, "--key", "big.bin")

	rules := `{"Rules": [
		{"ID": "logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 2},
		 "NoncurrentVersionExpiration": {"NoncurrentDays": 1}},
		{"ID": "uploads", "Status": "Enabled", "Filter": {}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}},
		{"ID": "archive", "Status": "Enabled", "Filter": {"Prefix": "archive/"}, "Expiration": {"Days": 100000}}]}`
	s3api(t, env, g, nil, "put-bucket-lifecycle-configuration", "--bucket", bucket, "--lifecycle-configuration", rules)
	var got struct{ Rules []struct{ ID string } }
	s3api(t, env, g, &got, "get-bucket-lifecycle-configuration", "--bucket", bucket)
	if len(got.Rules) != 3 || got.Rules[0].ID != "logs" {
		t.Fatalf("get-bucket-lifecycle-configuration: %+v", got)
	}
	var head struct{ Expiration string }
	s3api(t, env, g, &head, "head-object", "--bucket", bucket, "--key", "archive/old.txt")
	if !strings.Contains(head.Expiration, `rule-id="archive"`) {
		t.Errorf("head-object Expiration = %q", head.Expiration)
	}

	type listing struct {
		Versions      []struct{ Key string }
		DeleteMarkers []struct{ Key string }
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var l listing
		s3api(t, env, g, &l, "list-object-versions", "--bucket", bucket)
		var uploads struct{ Uploads []struct{ Key string } }
		s3api(t, env, g, &uploads, "list-multipart-uploads", "--bucket", bucket)
		// Done: the log's two versions are gone (its current one expired
		// into a delete marker, which then left it noncurrent), keep.txt
		// stands, the upload is aborted.
		if len(l.Versions) == 2 && l.Versions[0].Key == "archive/old.txt" && l.Versions[1].Key == "keep.txt" && len(uploads.Uploads) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s the lifecycle rules have not been applied: %+v, uploads %+v", l, uploads)
		}
		time.Sleep(time.Second)
	}
	s3api(t, env, g, nil, "delete-bucket-lifecycle", "--bucket", bucket)
}
