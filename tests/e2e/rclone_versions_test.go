package e2e

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestRcloneVersions: rclone's S3 versioning features against a versioned
// bucket (the backup tools' fallback where kopia cannot be installed):
// `backend versioning` reads and enables the bucket's versioning, an
// overwrite keeps the old version, `ls --s3-versions` lists it (as
// name-v<time>.ext), `cat --s3-version-at` reads the file as it was, a
// delete leaves both versions listed, and `backend cleanup-hidden`
// removes every version that is not current.
func TestRcloneVersions(t *testing.T) {
	testproc.RequireTool(t, "rclone", "rclone", "version")
	g := sharedGateway(t)
	dir := t.TempDir()
	const remote = "gw:rclone-versions"
	env := append(testproc.IsolatedEnv(filepath.Join(dir, "home")),
		"RCLONE_CONFIG="+filepath.Join(dir, "rclone.conf"),
		"RCLONE_CONFIG_GW_TYPE=s3", "RCLONE_CONFIG_GW_PROVIDER=Other", "RCLONE_CONFIG_GW_REGION=us-east-1",
		"RCLONE_CONFIG_GW_ENDPOINT="+g.endpoint(),
		"RCLONE_CONFIG_GW_ACCESS_KEY_ID="+accessKey, "RCLONE_CONFIG_GW_SECRET_ACCESS_KEY="+secretKey)
	rclone := func(args ...string) string {
		t.Helper()
		return strings.TrimSpace(testproc.MustRun(t, env, time.Minute, "rclone", args...))
	}
	rclone("mkdir", remote)
	if got := rclone("backend", "versioning", remote); got != "Unversioned" {
		t.Errorf("backend versioning of a new bucket: %q, want Unversioned", got)
	}
	if got := rclone("backend", "versioning", remote, "Enabled"); got != "Enabled" {
		t.Fatalf("backend versioning Enabled: %q", got)
	}

	file := filepath.Join(dir, "notes.txt")
	writeFile(t, file, []byte("first version"))
	rclone("copyto", file, remote+"/notes.txt")
	// --s3-version-at resolves to the version current at that instant:
	// leave the two versions apart from it.
	time.Sleep(1100 * time.Millisecond)
	between := time.Now().UTC()
	time.Sleep(1100 * time.Millisecond)
	writeFile(t, file, []byte("second, longer version"))
	rclone("copyto", file, remote+"/notes.txt")

	old := regexp.MustCompile(`^\s*13 notes-v\d{4}-\d\d-\d\d-\d{6}-\d{3}\.txt$`)
	lines := strings.Split(rclone("ls", "--s3-versions", remote), "\n")
	if len(lines) != 2 || strings.TrimSpace(lines[0]) != "22 notes.txt" || !old.MatchString(lines[1]) {
		t.Errorf("ls --s3-versions: %q, want the current notes.txt and its old version", lines)
	}
	if got := rclone("cat", "--s3-version-at", between.Format(time.RFC3339Nano), remote+"/notes.txt"); got != "first version" {
		t.Errorf("cat --s3-version-at: %q, want the first version", got)
	}
	if got := rclone("cat", remote+"/notes.txt"); got != "second, longer version" {
		t.Errorf("cat: %q", got)
	}

	// A delete hides the file (a delete marker); its versions stay.
	rclone("deletefile", remote+"/notes.txt")
	if got := rclone("ls", remote); got != "" {
		t.Errorf("ls after deletefile: %q, want nothing", got)
	}
	if got := rclone("ls", "--s3-versions", remote); strings.Count(got, "\n") != 1 || strings.Contains(got, " notes.txt") {
		t.Errorf("ls --s3-versions after deletefile: %q, want the two old versions", got)
	}
	rclone("backend", "cleanup-hidden", remote)
	if got := rclone("ls", "--s3-versions", remote); got != "" {
		t.Errorf("ls --s3-versions after cleanup-hidden: %q, want nothing", got)
	}
	rclone("rmdir", remote) // the bucket holds nothing more: no version, no delete marker
}
