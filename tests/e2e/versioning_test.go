package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestAWSCLIVersioning runs the aws cli's s3api versioning commands:
// put-bucket-versioning and get-bucket-versioning, put-object answering
// version ids, list-object-versions with a delete marker, get-object
// --version-id of a noncurrent version, delete-object --version-id of
// the delete marker (the object comes back) and of a version.
func TestAWSCLIVersioning(t *testing.T) {
	requireAWS(t)
	g := sharedGateway(t)
	env := clientEnv(t)
	const bucket = "awscli-versions"
	dir := t.TempDir()
	s3api(t, env, g, nil, "create-bucket", "--bucket", bucket)
	s3api(t, env, g, nil, "put-bucket-versioning", "--bucket", bucket, "--versioning-configuration", "Status=Enabled")
	var state struct{ Status string }
	s3api(t, env, g, &state, "get-bucket-versioning", "--bucket", bucket)
	if state.Status != "Enabled" {
		t.Fatalf("get-bucket-versioning: %+v", state)
	}

	var ids []string
	for i, body := range []string{"first", "second"} {
		src := filepath.Join(dir, "body"+string(rune('0'+i)))
		writeFile(t, src, []byte(body))
		var put struct{ VersionId string }
		s3api(t, env, g, &put, "put-object", "--bucket", bucket, "--key", "doc.txt", "--body", src)
		if put.VersionId == "" {
			t.Fatalf("put-object: no VersionId")
		}
		ids = append(ids, put.VersionId)
	}
	var del struct {
		DeleteMarker bool
		VersionId    string
	}
	s3api(t, env, g, &del, "delete-object", "--bucket", bucket, "--key", "doc.txt")
	if !del.DeleteMarker || del.VersionId == "" {
		t.Fatalf("delete-object: %+v, want a delete marker", del)
	}

	var list struct {
		Versions []struct {
			Key, VersionId string
			IsLatest       bool
			Size           int64
		}
		DeleteMarkers []struct {
			Key, VersionId string
			IsLatest       bool
		}
	}
	s3api(t, env, g, &list, "list-object-versions", "--bucket", bucket)
	if len(list.DeleteMarkers) != 1 || list.DeleteMarkers[0].VersionId != del.VersionId || !list.DeleteMarkers[0].IsLatest {
		t.Errorf("list-object-versions delete markers: %+v", list.DeleteMarkers)
	}
	if len(list.Versions) != 2 || list.Versions[0].VersionId != ids[1] || list.Versions[1].VersionId != ids[0] ||
		list.Versions[0].IsLatest || list.Versions[1].Size != int64(len("first")) {
		t.Errorf("list-object-versions versions: %+v, want %v newest first", list.Versions, ids)
	}

	out := filepath.Join(dir, "out")
	var get struct{ VersionId string }
	s3api(t, env, g, &get, "get-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", ids[0], out)
	if b, err := os.ReadFile(out); err != nil || string(b) != "first" || get.VersionId != ids[0] {
		t.Errorf("get-object --version-id: %q (%v), version %q", b, err, get.VersionId)
	}

	// Deleting the delete marker by id restores the newest version.
	s3api(t, env, g, nil, "delete-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", del.VersionId)
	s3api(t, env, g, &get, "get-object", "--bucket", bucket, "--key", "doc.txt", out)
	if b, _ := os.ReadFile(out); string(b) != "second" || get.VersionId != ids[1] {
		t.Errorf("after deleting the delete marker: %q, version %q", b, get.VersionId)
	}
	// Deleting versions by id removes them for good.
	for _, id := range ids {
		var d struct{ VersionId string }
		s3api(t, env, g, &d, "delete-object", "--bucket", bucket, "--key", "doc.txt", "--version-id", id)
		if d.VersionId != id {
			t.Errorf("delete-object --version-id %s: answered %q", id, d.VersionId)
		}
	}
	list.Versions, list.DeleteMarkers = nil, nil
	s3api(t, env, g, &list, "list-object-versions", "--bucket", bucket)
	if len(list.Versions)+len(list.DeleteMarkers) != 0 {
		t.Errorf("after deleting every version: %+v", list)
	}
	s3api(t, env, g, nil, "delete-bucket", "--bucket", bucket)
}
