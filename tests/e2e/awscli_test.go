package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// lsLine matches one object line of `aws s3 ls`: date, time, size, name.
var lsLine = regexp.MustCompile(`^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) +(\d+) (.*)$`)

// lsEntry is one object line of `aws s3 ls` output.
type lsEntry struct {
	Name string
	Size int64
}

// parseLS returns the object lines of `aws s3 ls` output (PRE lines are
// returned separately, with their trailing slash).
func parseLS(t *testing.T, out string) (objects []lsEntry, prefixes []string) {
	t.Helper()
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if line == "" {
			continue
		}
		if p, ok := strings.CutPrefix(strings.TrimLeft(line, " "), "PRE "); ok {
			prefixes = append(prefixes, p)
			continue
		}
		m := lsLine.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("unexpected `aws s3 ls` line: %q", line)
			continue
		}
		n, _ := strconv.ParseInt(m[3], 10, 64)
		objects = append(objects, lsEntry{Name: m[4], Size: n})
	}
	return objects, prefixes
}

// TestSeedAWSCLI runs the aws cli commands of the product document as
// written (only the endpoint differs), without the 64 MB multipart threshold
// the document configured, then removes the file and the bucket.
func TestSeedAWSCLI(t *testing.T) {
	requireAWS(t)
	g := sharedGateway(t)
	env := clientEnv(t)
	// Exactly the document's form: `aws s3 --endpoint=http://host:port/ <cmd>`.
	ep := "--endpoint=" + g.endpoint() + "/"

	src := filepath.Join(t.TempDir(), "your-file")
	writeRandomFile(t, src, 3<<20+12345, 1)

	out := awsCLI(t, env, "s3", ep, "mb", "s3://awstest")
	if !strings.Contains(out, "make_bucket: awstest") {
		t.Errorf("mb: output %q, want make_bucket: awstest", out)
	}
	out = awsCLI(t, env, "s3", ep, "cp", src, "s3://awstest")
	if !strings.Contains(out, "s3://awstest/your-file") {
		t.Errorf("cp up: output %q, want it to name s3://awstest/your-file", out)
	}

	objs, _ := parseLS(t, awsCLI(t, env, "s3", ep, "ls", "s3://awstest"))
	if want := []lsEntry{{"your-file", 3<<20 + 12345}}; !slices.Equal(objs, want) {
		t.Errorf("ls s3://awstest: got %+v, want %+v", objs, want)
	}

	dst := filepath.Join(t.TempDir(), "new-file")
	awsCLI(t, env, "s3", ep, "cp", "s3://awstest/your-file", dst)
	if ok, diff := sameFile(t, src, dst); !ok {
		t.Errorf("downloaded file differs from the uploaded one: %s", diff)
	}

	out = awsCLI(t, env, "s3", ep, "rm", "s3://awstest/your-file")
	if !strings.Contains(out, "delete: s3://awstest/your-file") {
		t.Errorf("rm: output %q, want delete: s3://awstest/your-file", out)
	}
	if objs, prefixes := parseLS(t, awsCLI(t, env, "s3", ep, "ls", "s3://awstest")); len(objs)+len(prefixes) != 0 {
		t.Errorf("ls after rm: got %+v %v, want an empty bucket", objs, prefixes)
	}

	out = awsCLI(t, env, "s3", ep, "rb", "s3://awstest")
	if !strings.Contains(out, "remove_bucket: awstest") {
		t.Errorf("rb: output %q, want remove_bucket: awstest", out)
	}
	if out := awsCLI(t, env, "s3", ep, "ls"); strings.Contains(out, " awstest\n") {
		t.Errorf("bucket awstest still listed after rb:\n%s", out)
	}
}

// headObject is the part of `aws s3api head-object` output the tests check.
type headObject struct {
	ContentLength      int64
	ETag               string
	ContentType        string
	ContentDisposition string
	CacheControl       string
	Metadata           map[string]string
}

// TestAWSCLILargeMultipart uploads and downloads 100 MB with the aws cli's
// default transfer settings (multipart from 8 MB, 8 MB parts).
func TestAWSCLILargeMultipart(t *testing.T) {
	requireAWS(t)
	g := sharedGateway(t)
	env := clientEnv(t)
	ep := "--endpoint-url=" + g.endpoint()
	const size = 100 << 20
	const partSize = 8 << 20 // the aws cli's default multipart_chunksize

	dir := t.TempDir()
	src := filepath.Join(dir, "big.bin")
	wantSum := writeRandomFile(t, src, size, 2)
	wantETag := `"` + multipartETag(t, src, partSize) + `"` // ...-13

	awsCLI(t, env, "s3", ep, "mb", "s3://awscli-big")
	awsCLI(t, env, "s3", ep, "cp", src, "s3://awscli-big/data/big.bin")

	var head headObject
	s3api(t, env, g, &head, "head-object", "--bucket", "awscli-big", "--key", "data/big.bin")
	if head.ContentLength != size {
		t.Errorf("head-object ContentLength = %d, want %d", head.ContentLength, size)
	}
	if head.ETag != wantETag {
		t.Errorf("head-object ETag = %s, want the multipart ETag %s (MD5 of the 13 part MD5s, -13)", head.ETag, wantETag)
	}

	dst := filepath.Join(dir, "big.out")
	awsCLI(t, env, "s3", ep, "cp", "s3://awscli-big/data/big.bin", dst)
	if got, n := fileSHA256(t, dst); got != wantSum || n != size {
		t.Errorf("downloaded %d bytes with SHA-256 %s, want %d bytes with %s", n, got, size, wantSum)
	}
	_ = os.Remove(dst)

	awsCLI(t, env, "s3", ep, "rm", "s3://awscli-big/data/big.bin")
	awsCLI(t, env, "s3", ep, "rb", "s3://awscli-big")
}

// listV2 is the part of `aws s3api list-objects-v2` output the tests check
// (the cli merges the pages it fetched).
type listV2 struct {
	Contents []struct {
		Key  string
		Size int64
		ETag string
	}
	CommonPrefixes []struct{ Prefix string }
	NextToken      string
	KeyCount       int
}

func (l listV2) keys() []string {
	var k []string
	for _, c := range l.Contents {
		k = append(k, c.Key)
	}
	return k
}

func (l listV2) prefixes() []string {
	var p []string
	for _, c := range l.CommonPrefixes {
		p = append(p, c.Prefix)
	}
	return p
}

// TestAWSCLISyncAndList syncs a small tree with nested directories up and
// back down, and lists it with `ls --recursive` and list-objects-v2 with a
// delimiter and with pagination. The names check the listing order: keys
// sort by UTF-8 bytes, so "a-b" < "a/b" < "a0" (a directory walk does not
// give that order).
func TestAWSCLISyncAndList(t *testing.T) {
	requireAWS(t)
	g := sharedGateway(t)
	env := clientEnv(t)
	ep := "--endpoint-url=" + g.endpoint()
	const bucket = "awscli-sync"

	files := map[string]int64{
		"top.txt":              10,
		"a-b":                  1,
		"a0":                   2,
		"a/b":                  3,
		"a/c/deep.txt":         4096,
		"a/c/d/e/deeper.bin":   70000,
		"docs/hello world.txt": 12,
		"docs/ünïcode.txt":     13,
		"empty":                0,
	}
	want := make([]string, 0, len(files))
	for k := range files {
		want = append(want, k)
	}
	slices.Sort(want) // Go compares strings bytewise: the S3 order

	src := t.TempDir()
	seed := uint64(100)
	// Files modified a minute ago: sync compares the local mtime (with
	// sub-second precision) to LastModified (whole seconds in S3), so a file
	// written in the same second as its upload would look newer and be
	// uploaded again by the second sync, with any server.
	old := time.Now().Add(-time.Minute)
	for name, size := range files {
		p := filepath.Join(src, filepath.FromSlash(name))
		writeRandomFile(t, p, size, seed)
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
		seed++
	}

	awsCLI(t, env, "s3", ep, "mb", "s3://"+bucket)
	out := awsCLI(t, env, "s3", ep, "sync", src, "s3://"+bucket)
	if n := strings.Count(out, "upload: "); n != len(files) {
		t.Errorf("sync uploaded %d files, want %d:\n%s", n, len(files), out)
	}
	// A second sync has nothing to do: sizes and times must match.
	if out := awsCLI(t, env, "s3", ep, "sync", src, "s3://"+bucket); strings.TrimSpace(out) != "" {
		t.Errorf("second sync was not a no-op:\n%s", out)
	}

	objs, _ := parseLS(t, awsCLI(t, env, "s3", ep, "ls", "--recursive", "s3://"+bucket))
	var got []string
	for _, o := range objs {
		got = append(got, o.Name)
		if o.Size != files[o.Name] {
			t.Errorf("ls --recursive: %s has size %d, want %d", o.Name, o.Size, files[o.Name])
		}
	}
	if !slices.Equal(got, want) {
		t.Errorf("ls --recursive keys (in listed order):\n got %q\nwant %q", got, want)
	}

	// Non-recursive ls: directories show as PRE.
	objs, prefixes := parseLS(t, awsCLI(t, env, "s3", ep, "ls", "s3://"+bucket))
	got = nil
	for _, o := range objs {
		got = append(got, o.Name)
	}
	if w := []string{"a-b", "a0", "empty", "top.txt"}; !slices.Equal(got, w) {
		t.Errorf("ls: objects %q, want %q", got, w)
	}
	if w := []string{"a/", "docs/"}; !slices.Equal(prefixes, w) {
		t.Errorf("ls: PRE entries %q, want %q", prefixes, w)
	}

	// Delimiter listing, also one entry per page so that continuation tokens
	// must not repeat or skip a key or a common prefix.
	for _, pageSize := range []string{"1000", "1"} {
		var l listV2
		s3api(t, env, g, &l, "list-objects-v2", "--bucket", bucket, "--delimiter", "/", "--page-size", pageSize)
		if w := []string{"a-b", "a0", "empty", "top.txt"}; !slices.Equal(l.keys(), w) {
			t.Errorf("list-objects-v2 --delimiter / --page-size %s: Contents %q, want %q", pageSize, l.keys(), w)
		}
		if w := []string{"a/", "docs/"}; !slices.Equal(l.prefixes(), w) {
			t.Errorf("list-objects-v2 --delimiter / --page-size %s: CommonPrefixes %q, want %q", pageSize, l.prefixes(), w)
		}
		var sub listV2
		s3api(t, env, g, &sub, "list-objects-v2", "--bucket", bucket, "--delimiter", "/", "--prefix", "a/c/", "--page-size", pageSize)
		if w := []string{"a/c/deep.txt"}; !slices.Equal(sub.keys(), w) {
			t.Errorf("list-objects-v2 --prefix a/c/ --delimiter / --page-size %s: Contents %q, want %q", pageSize, sub.keys(), w)
		}
		if w := []string{"a/c/d/"}; !slices.Equal(sub.prefixes(), w) {
			t.Errorf("list-objects-v2 --prefix a/c/ --delimiter / --page-size %s: CommonPrefixes %q, want %q", pageSize, sub.prefixes(), w)
		}
	}

	// Client-side pagination with --max-items / --starting-token on top of
	// server pages of 2 keys (continuation tokens).
	var all []string
	token := ""
	for page := 0; page < 10; page++ {
		args := []string{"--bucket", bucket, "--max-items", "4", "--page-size", "2"}
		if token != "" {
			args = append(args, "--starting-token", token)
		}
		var l listV2
		s3api(t, env, g, &l, "list-objects-v2", args...)
		if len(l.Contents) > 4 {
			t.Errorf("--max-items 4 returned %d keys", len(l.Contents))
		}
		all = append(all, l.keys()...)
		token = l.NextToken
		if token == "" {
			break
		}
	}
	if !slices.Equal(all, want) {
		t.Errorf("list-objects-v2 with --max-items 4 --page-size 2, all pages:\n got %q\nwant %q", all, want)
	}

	// list-object-versions on the unversioned bucket (cleanup scripts call
	// it): every object once, as version null, pages of 3 keys.
	var versions struct {
		Versions []struct {
			Key, VersionId string
			IsLatest       bool
		}
		DeleteMarkers []struct{ Key string }
	}
	s3api(t, env, g, &versions, "list-object-versions", "--bucket", bucket, "--page-size", "3")
	var vkeys []string
	for _, v := range versions.Versions {
		if v.VersionId != "null" || !v.IsLatest {
			t.Errorf("list-object-versions: %+v", v)
		}
		vkeys = append(vkeys, v.Key)
	}
	if !slices.Equal(vkeys, want) || len(versions.DeleteMarkers) != 0 {
		t.Errorf("list-object-versions:\n got %q (delete markers %v)\nwant %q", vkeys, versions.DeleteMarkers, want)
	}

	// Sync back down and compare every file.
	back := t.TempDir()
	awsCLI(t, env, "s3", ep, "sync", "s3://"+bucket, back)
	for name := range files {
		if ok, diff := sameFile(t, filepath.Join(src, filepath.FromSlash(name)), filepath.Join(back, filepath.FromSlash(name))); !ok {
			t.Errorf("sync down: %s: %s", name, diff)
		}
	}
}

// TestAWSCLIMetadata stores user metadata with `s3api put-object --metadata`
// and expects head-object to return it with the names lower-cased, exactly
// as S3 does (underscores kept).
func TestAWSCLIMetadata(t *testing.T) {
	requireAWS(t)
	g := sharedGateway(t)
	env := clientEnv(t)
	const bucket = "awscli-meta"
	src := filepath.Join(t.TempDir(), "meta.bin")
	writeRandomFile(t, src, 5000, 3)
	data, _ := os.ReadFile(src)

	s3api(t, env, g, nil, "create-bucket", "--bucket", bucket)
	var put struct{ ETag string }
	s3api(t, env, g, &put, "put-object", "--bucket", bucket, "--key", "meta.bin", "--body", src,
		"--metadata", "build_id=7,Owner=alice")
	if w := `"` + md5Hex(data) + `"`; put.ETag != w {
		t.Errorf("put-object ETag = %s, want %s", put.ETag, w)
	}
	var head headObject
	s3api(t, env, g, &head, "head-object", "--bucket", bucket, "--key", "meta.bin")
	want := map[string]string{"build_id": "7", "owner": "alice"}
	if !mapsEqual(head.Metadata, want) {
		b, _ := json.Marshal(head.Metadata)
		t.Errorf("head-object Metadata = %s, want %v (S3 returns x-amz-meta-* names in lower case; "+
			"Go's Header.Set would canonicalize them to X-Amz-Meta-Owner / X-Amz-Meta-Build_id)", b, want)
	}
	if head.ContentLength != int64(len(data)) {
		t.Errorf("head-object ContentLength = %d, want %d", head.ContentLength, len(data))
	}
}

// mapsEqual compares two string maps.
func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
