package e2e

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestAWSCLIObjectLock runs the aws cli's s3api object lock commands:
// create-bucket --object-lock-enabled-for-bucket, put/get-object-lock-
// configuration (default retention applied to a put), put-object with
// COMPLIANCE retention, get/put-object-retention (shortening refused),
// put/get-object-legal-hold, and delete-object --version-id of a locked
// version refused while a delete without version id adds a marker.
func TestAWSCLIObjectLock(t *testing.T) {
	requireAWS(t)
	g := sharedGateway(t)
	env := clientEnv(t)
	const bucket = "awscli-lock"
	src := filepath.Join(t.TempDir(), "body")
	writeFile(t, src, []byte("immutable"))
	s3api(t, env, g, nil, "create-bucket", "--bucket", bucket, "--object-lock-enabled-for-bucket")
	s3api(t, env, g, nil, "put-object-lock-configuration", "--bucket", bucket, "--object-lock-configuration",
		`{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}`)
	var cfg struct {
		ObjectLockConfiguration struct {
			ObjectLockEnabled string
			Rule              struct{ DefaultRetention struct{ Mode string } }
		}
	}
	s3api(t, env, g, &cfg, "get-object-lock-configuration", "--bucket", bucket)
	if c := cfg.ObjectLockConfiguration; c.ObjectLockEnabled != "Enabled" || c.Rule.DefaultRetention.Mode != "GOVERNANCE" {
		t.Fatalf("get-object-lock-configuration: %+v", c)
	}

	var head struct{ ObjectLockMode, ObjectLockRetainUntilDate, ObjectLockLegalHoldStatus string }
	s3api(t, env, g, nil, "put-object", "--bucket", bucket, "--key", "dflt", "--body", src, "--checksum-algorithm", "CRC32")
	s3api(t, env, g, &head, "head-object", "--bucket", bucket, "--key", "dflt")
	if head.ObjectLockMode != "GOVERNANCE" || head.ObjectLockRetainUntilDate == "" {
		t.Errorf("head-object of a default-retention put: %+v", head)
	}

	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var put struct{ VersionId string }
	s3api(t, env, g, &put, "put-object", "--bucket", bucket, "--key", "k", "--body", src, "--checksum-algorithm", "CRC32",
		"--object-lock-mode", "COMPLIANCE", "--object-lock-retain-until-date", until, "--object-lock-legal-hold-status", "ON")
	var ret struct {
		Retention struct{ Mode, RetainUntilDate string }
	}
	s3api(t, env, g, &ret, "get-object-retention", "--bucket", bucket, "--key", "k", "--version-id", put.VersionId)
	if ret.Retention.Mode != "COMPLIANCE" {
		t.Errorf("get-object-retention: %+v", ret)
	}
	var hold struct{ LegalHold struct{ Status string } }
	s3api(t, env, g, &hold, "get-object-legal-hold", "--bucket", bucket, "--key", "k")
	if hold.LegalHold.Status != "ON" {
		t.Errorf("get-object-legal-hold: %+v", hold)
	}
	s3api(t, env, g, nil, "put-object-legal-hold", "--bucket", bucket, "--key", "k", "--legal-hold", "Status=OFF")

	refused := func(what string, args ...string) {
		t.Helper()
		full := append([]string{"s3api", "--endpoint-url", g.endpoint()}, args...)
		_, err := testproc.Run(env, slowCommand, "aws", full...)
		if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
			t.Errorf("%s: %v, want AccessDenied", what, err)
		}
	}
	shorter := time.Now().Add(time.Minute).UTC().Format(time.RFC3339)
	refused("shortening COMPLIANCE", "put-object-retention", "--bucket", bucket, "--key", "k", "--version-id", put.VersionId,
		"--retention", `{"Mode":"COMPLIANCE","RetainUntilDate":"`+shorter+`"}`)
	refused("delete-object --version-id of a locked version", "delete-object", "--bucket", bucket, "--key", "k", "--version-id", put.VersionId)
	var del struct{ DeleteMarker bool }
	s3api(t, env, g, &del, "delete-object", "--bucket", bucket, "--key", "k")
	if !del.DeleteMarker {
		t.Errorf("delete-object without version id: %+v, want a delete marker", del)
	}
	s3api(t, env, g, &ret, "get-object-retention", "--bucket", bucket, "--key", "k", "--version-id", put.VersionId)
}
