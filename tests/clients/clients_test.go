package clients

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// awsV2 is Debian's aws cli v2: the aws on PATH may be v1 (pyenv's).
const awsV2 = "/usr/bin/aws"

// commandTimeout bounds one client command (the slowest moves 20 MiB).
const commandTimeout = 3 * time.Minute

// client is one S3 client program and its end-to-end scenario.
type client struct {
	name    string
	require func(t *testing.T)
	run     func(t *testing.T, tg *target, bucket, work string)
}

var clients = []client{
	{"awscli-v2", requireAWSV2, runAWSV2},
	{"rclone", requireProgram("rclone", "version"), runRclone},
	{"s3cmd", requireProgram("s3cmd", "--version"), runS3cmd},
	{"restic", requireProgram("restic", "version"), runRestic},
	{"js-sdk-v3", requireJS, runJS},
}

// TestClients runs every client against the gateway over HTTP and against
// Caddy over HTTPS, each in its own bucket, two at a time.
func TestClients(t *testing.T) {
	targets := []*target{startGateway(t), startCaddyTarget(t)}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			for _, c := range clients {
				t.Run(c.name, func(t *testing.T) {
					t.Parallel()
					c.require(t)
					c.run(t, tg, strings.ReplaceAll(c.name, "-", "")+"-bucket", t.TempDir())
				})
			}
		})
	}
}

func requireAWSV2(t *testing.T) {
	t.Helper()
	out, err := exec.Command(awsV2, "--version").CombinedOutput()
	if err == nil && !strings.HasPrefix(string(out), "aws-cli/2.") {
		err = fmt.Errorf("%s --version: %q, want aws-cli/2", awsV2, out)
	}
	if err != nil {
		testproc.MissingTool(t, "the aws cli v2 (Debian's awscli) at "+awsV2, err)
	}
}

func requireProgram(name string, args ...string) func(t *testing.T) {
	return func(t *testing.T) {
		t.Helper()
		testproc.RequireTool(t, name, name, args...)
	}
}

// runAWSV2: mb, cp (multipart: 20 MiB over the 8 MiB threshold), sync up,
// ls --recursive, cp --recursive down (ranged GETs), a second sync that
// has nothing to do, a server-side copy (UploadPartCopy) read back, and
// rb --force over an interrupted multipart upload.
func runAWSV2(t *testing.T, tg *target, bucket, work string) {
	env := append(testproc.AWSEnv(filepath.Join(work, "home"), tg.ak, tg.sk, tg.caFile), "AWS_DEFAULT_REGION=us-east-1")
	aws := func(args ...string) string {
		t.Helper()
		return testproc.MustRun(t, env, commandTimeout, awsV2, append(args, "--endpoint-url", tg.endpoint)...)
	}
	url := "s3://" + bucket
	aws("s3", "mb", url)
	aws("s3", "cp", filepath.Join(source, "big.bin"), url+"/big.bin")
	tg.wantMultipart(t, "aws s3 cp", bucket, "big.bin")
	aws("s3", "sync", filepath.Join(source, "docs"), url+"/docs")

	var keys []string
	lsLine := regexp.MustCompile(`^\S+ \S+ +\d+ (.*)$`)
	for _, line := range strings.Split(strings.TrimRight(aws("s3", "ls", "--recursive", url), "\n"), "\n") {
		if m := lsLine.FindStringSubmatch(line); m != nil {
			keys = append(keys, m[1])
		} else {
			t.Errorf("aws s3 ls: unexpected line %q", line)
		}
	}
	wantKeys(t, "aws s3 ls --recursive", keys, keysUnder("", ""))

	out := filepath.Join(work, "out")
	aws("s3", "cp", "--recursive", url, out)
	wantSameTree(t, "aws s3 cp --recursive", source, out)
	if again := aws("s3", "sync", "--delete", filepath.Join(source, "docs"), url+"/docs"); strings.TrimSpace(again) != "" {
		t.Errorf("a second aws s3 sync of unchanged files transferred:\n%s", again)
	}

	// A copy inside the gateway: over the threshold the cli copies with
	// UploadPartCopy.
	aws("s3", "cp", url+"/big.bin", url+"/copy/big.bin")
	tg.wantMultipart(t, "aws s3 cp (server-side copy)", bucket, "copy/big.bin")
	copied := filepath.Join(work, "copied")
	aws("s3", "cp", url+"/copy/big.bin", filepath.Join(copied, "big.bin"))
	wantSameFile(t, "aws s3 cp of a server-side copy", filepath.Join(source, "big.bin"), filepath.Join(copied, "big.bin"))

	tg.leavePendingUpload(t, bucket)
	aws("s3", "rb", "--force", url)
	tg.wantBucketGone(t, "aws s3 rb --force", bucket)
}

// runRclone: mkdir, copy up, rcat of a stream (multipart at its defaults:
// a stream of unknown size goes in 5 MiB chunks), lsf, check, copy down,
// sync with a deleted file, and purge over an interrupted upload.
func runRclone(t *testing.T, tg *target, bucket, work string) {
	env := append(testproc.IsolatedEnv(filepath.Join(work, "home")),
		"RCLONE_CONFIG="+filepath.Join(work, "rclone.conf"),
		"RCLONE_CONFIG_GW_TYPE=s3",
		"RCLONE_CONFIG_GW_PROVIDER=Other",
		"RCLONE_CONFIG_GW_ENDPOINT="+tg.endpoint,
		"RCLONE_CONFIG_GW_ACCESS_KEY_ID="+tg.ak,
		"RCLONE_CONFIG_GW_SECRET_ACCESS_KEY="+tg.sk,
	)
	var flags []string
	if tg.caFile != "" {
		flags = append(flags, "--ca-cert", tg.caFile)
	}
	rclone := func(args ...string) string {
		t.Helper()
		return testproc.MustRun(t, env, commandTimeout, "rclone", append(args, flags...)...)
	}
	remote := "gw:" + bucket
	rclone("mkdir", remote)
	rclone("copy", filepath.Join(source, "docs"), remote+"/docs")
	rcat := []string{"-c", `f=$1; shift; exec rclone rcat "$@" < "$f"`, "sh", filepath.Join(source, "big.bin"), remote + "/big.bin"}
	testproc.MustRun(t, env, commandTimeout, "sh", append(rcat, flags...)...)
	tg.wantMultipart(t, "rclone rcat", bucket, "big.bin")

	keys := strings.Split(strings.TrimRight(rclone("lsf", "-R", "--files-only", remote), "\n"), "\n")
	wantKeys(t, "rclone lsf -R", keys, keysUnder("", ""))
	rclone("check", filepath.Join(source, "docs"), remote+"/docs")

	out := filepath.Join(work, "out")
	rclone("copy", remote, out)
	wantSameTree(t, "rclone copy", source, out)

	// sync deletes what is gone locally.
	local := filepath.Join(out, "docs")
	if err := os.Remove(filepath.Join(local, "readme.txt")); err != nil {
		t.Fatal(err)
	}
	rclone("sync", local, remote+"/docs")
	keys = strings.Split(strings.TrimRight(rclone("lsf", "-R", "--files-only", remote+"/docs"), "\n"), "\n")
	var want []string
	for _, k := range keysUnder("docs/", "") {
		if k != "readme.txt" {
			want = append(want, k)
		}
	}
	wantKeys(t, "rclone lsf after sync", keys, want)

	tg.leavePendingUpload(t, bucket)
	rclone("purge", remote)
	tg.wantBucketGone(t, "rclone purge", bucket)
}

// runS3cmd: mb, put (multipart: 20 MiB over its 15 MiB chunk size), sync
// up, ls -r, get and sync down, and rb -r over an interrupted upload. The
// configuration keeps s3cmd's default bucket_location ("US", what
// `s3cmd --configure` writes): s3cmd signs for region "US" and re-signs
// with the Region the AuthorizationHeaderMalformed error names, as on AWS.
func runS3cmd(t *testing.T, tg *target, bucket, work string) {
	cfg := filepath.Join(work, "s3cfg")
	conf := "[default]\naccess_key = " + tg.ak + "\nsecret_key = " + tg.sk +
		"\nhost_base = " + tg.host + "\nhost_bucket = " + tg.host + "\n"
	if tg.caFile != "" {
		conf += "use_https = True\ncheck_ssl_certificate = True\nca_certs_file = " + tg.caFile + "\n"
	} else {
		conf += "use_https = False\n"
	}
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	env := testproc.IsolatedEnv(filepath.Join(work, "home"))
	s3cmd := func(args ...string) string {
		t.Helper()
		return testproc.MustRun(t, env, commandTimeout, "s3cmd", append([]string{"-c", cfg}, args...)...)
	}
	url := "s3://" + bucket
	s3cmd("mb", url)
	s3cmd("put", filepath.Join(source, "big.bin"), url+"/big.bin")
	tg.wantMultipart(t, "s3cmd put", bucket, "big.bin")
	s3cmd("sync", filepath.Join(source, "docs")+"/", url+"/docs/")

	var keys []string
	for _, line := range strings.Split(strings.TrimRight(s3cmd("ls", "-r", url), "\n"), "\n") {
		if _, key, ok := strings.Cut(line, url+"/"); ok {
			keys = append(keys, key)
		} else {
			t.Errorf("s3cmd ls: unexpected line %q", line)
		}
	}
	wantKeys(t, "s3cmd ls -r", keys, keysUnder("", ""))

	out := filepath.Join(work, "out")
	if err := os.MkdirAll(filepath.Join(out, "docs"), 0o755); err != nil {
		t.Fatal(err)
	}
	s3cmd("get", url+"/big.bin", filepath.Join(out, "big.bin"))
	s3cmd("sync", url+"/docs/", filepath.Join(out, "docs")+"/")
	wantSameTree(t, "s3cmd get and sync", source, out)

	tg.leavePendingUpload(t, bucket)
	s3cmd("rb", "--recursive", url)
	tg.wantBucketGone(t, "s3cmd rb --recursive", bucket)
}

// runRestic: init (creates the bucket), backup, check --read-data,
// restore, compare, then forget --prune and check again. restic deletes
// no bucket: the test empties and removes it. At its defaults restic
// sends no multipart upload: its packs stay under minio-go's 16 MiB
// multipart threshold.
func runRestic(t *testing.T, tg *target, bucket, work string) {
	env := append(testproc.IsolatedEnv(filepath.Join(work, "home")),
		"AWS_ACCESS_KEY_ID="+tg.ak,
		"AWS_SECRET_ACCESS_KEY="+tg.sk,
		"RESTIC_PASSWORD=clients-test-password",
		"RESTIC_CACHE_DIR="+filepath.Join(work, "cache"),
		"RESTIC_REPOSITORY=s3:"+tg.endpoint+"/"+bucket+"/repo",
	)
	var flags []string
	if tg.caFile != "" {
		flags = append(flags, "--cacert", tg.caFile)
	}
	restic := func(args ...string) string {
		t.Helper()
		return testproc.MustRun(t, env, commandTimeout, "restic", append(args, flags...)...)
	}
	restic("init")
	restic("backup", "--host", "clients-test", source)
	restic("check", "--read-data")
	out := filepath.Join(work, "out")
	restic("restore", "latest", "--target", out)
	wantSameTree(t, "restic restore", source, filepath.Join(out, source))

	var snaps []struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(restic("snapshots", "--json")), &snaps); err != nil || len(snaps) != 1 {
		t.Fatalf("restic snapshots --json: %v, %d snapshots, want 1", err, len(snaps))
	}
	restic("forget", "--prune", snaps[0].ID)
	restic("check")
	if list := restic("list", "packs"); strings.TrimSpace(list) != "" {
		t.Errorf("restic list packs after forget --prune: %q, want none", list)
	}
	tg.removeBucket(t, bucket)
}

// jsDir holds smoke.mjs, package.json and (after npm ci) node_modules.
const jsDir = "js"

func requireJS(t *testing.T) {
	t.Helper()
	testproc.RequireTool(t, "node", "node", "--version")
	if _, err := os.Stat(filepath.Join(jsDir, "node_modules", "@aws-sdk", "lib-storage")); err != nil {
		testproc.MissingTool(t, "the AWS SDK for JavaScript v3 (run `npm ci` in tests/clients/js, as test.sh does)", err)
	}
}

// runJS runs js/smoke.mjs: upload (lib-storage's Upload, multipart at its
// defaults, for big.bin), download after a paginated listing, and purge
// (DeleteObjects, DeleteBucket) over an interrupted upload.
func runJS(t *testing.T, tg *target, bucket, work string) {
	env := testproc.AWSEnv(filepath.Join(work, "home"), tg.ak, tg.sk, tg.caFile)
	script, err := filepath.Abs(filepath.Join(jsDir, "smoke.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	node := func(v any, step string, args ...string) {
		t.Helper()
		out := testproc.MustRun(t, env, commandTimeout, "node", append([]string{script, step, tg.endpoint, bucket}, args...)...)
		if err := json.Unmarshal([]byte(out), v); err != nil {
			t.Fatalf("smoke.mjs %s: %v\n%s", step, err, out)
		}
	}
	var up struct{ Multipart int }
	node(&up, "upload", source)
	if up.Multipart != 1 {
		t.Errorf("smoke.mjs uploaded %d files with lib-storage's Upload, want 1", up.Multipart)
	}
	tg.wantMultipart(t, "lib-storage Upload", bucket, "big.bin")

	out := filepath.Join(work, "out")
	var down struct {
		Keys  []string
		Pages int
	}
	node(&down, "download", out)
	wantKeys(t, "ListObjectsV2 (JavaScript)", down.Keys, keysUnder("", ""))
	if down.Pages < 3 {
		t.Errorf("ListObjectsV2 with 2 keys a page took %d pages, want 3 or more", down.Pages)
	}
	wantSameTree(t, "GetObject (JavaScript)", source, out)

	tg.leavePendingUpload(t, bucket)
	var purge struct {
		Deleted    int
		Errors     []any
		BucketGone bool
	}
	node(&purge, "purge")
	if purge.Deleted != len(sourceFiles) || len(purge.Errors) != 0 || !purge.BucketGone {
		t.Errorf("smoke.mjs purge: %+v, want %d deleted, no errors, the bucket gone", purge, len(sourceFiles))
	}
}
