package upstream

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/internal/testproc"
)

// randomFile writes n pseudo-random bytes (seeded) to path.
func randomFile(t *testing.T, path string, n int, seed uint64) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), 'u', 'p'}).Read(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

// lsKeys returns the keys of `aws s3 ls --recursive` output.
func lsKeys(out string) []string {
	var keys []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(line); len(f) >= 4 {
			keys = append(keys, strings.Join(f[3:], " "))
		}
	}
	sort.Strings(keys)
	return keys
}

// TestAWSCLI: cp, ls, sync, a default multipart upload of 20 MiB, rm,
// each object checked byte for byte, and the upstream holds the bytes
// under the order's prefix only.
func TestAWSCLI(t *testing.T) {
	env(t)
	testproc.RequireTool(t, "the aws cli", "aws", "--version")
	g := orders["alpha"]
	dir := t.TempDir()
	aws(t, g, "s3", "mb", "s3://cli")

	small := randomFile(t, filepath.Join(dir, "small.txt"), 12345, 1)
	aws(t, g, "s3", "cp", filepath.Join(dir, "small.txt"), "s3://cli/docs/small.txt")

	// Default multipart settings: threshold and parts of 8 MiB.
	big := randomFile(t, filepath.Join(dir, "big.bin"), 20<<20+7, 2)
	aws(t, g, "s3", "cp", filepath.Join(dir, "big.bin"), "s3://cli/big.bin")
	var head struct {
		ContentLength int64
		ETag          string
	}
	if err := json.Unmarshal([]byte(aws(t, g, "s3api", "head-object", "--bucket", "cli", "--key", "big.bin")), &head); err != nil {
		t.Fatal(err)
	}
	if head.ContentLength != int64(len(big)) || !strings.HasSuffix(head.ETag, `-3"`) {
		t.Errorf("big.bin: %+v, want %d bytes in 3 parts", head, len(big))
	}

	// sync a tree (keys with dots and slashes, which the upstream names
	// encode), then sync it back.
	tree := filepath.Join(dir, "tree")
	files := map[string][]byte{}
	for i, name := range []string{"a.txt", "sub/b.tar.gz", "sub/deeper/c", ".hidden", "x..y/z"} {
		files[name] = randomFile(t, filepath.Join(tree, name), 1000+i*777, uint64(10+i))
	}
	aws(t, g, "s3", "sync", tree, "s3://cli/tree/")
	back := filepath.Join(dir, "back")
	aws(t, g, "s3", "sync", "s3://cli/tree/", back)
	for name, want := range files {
		got, err := os.ReadFile(filepath.Join(back, name))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("synced back %s: %d bytes, %v", name, len(got), err)
		}
	}

	want := []string{"big.bin", "docs/small.txt", "tree/.hidden", "tree/a.txt", "tree/sub/b.tar.gz", "tree/sub/deeper/c", "tree/x..y/z"}
	if got := lsKeys(aws(t, g, "s3", "ls", "--recursive", "s3://cli")); !slices.Equal(got, want) {
		t.Errorf("ls --recursive: %v, want %v", got, want)
	}
	top := aws(t, g, "s3", "ls", "s3://cli/")
	for _, w := range []string{"PRE docs/", "PRE tree/", "big.bin"} {
		if !strings.Contains(top, w) {
			t.Errorf("ls s3://cli/ lacks %q:\n%s", w, top)
		}
	}

	for name, data := range map[string][]byte{"docs/small.txt": small, "big.bin": big} {
		dst := filepath.Join(dir, "get", name)
		aws(t, g, "s3", "cp", "s3://cli/"+name, dst)
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
			t.Errorf("downloaded %s differs (%d bytes, %v)", name, len(got), err)
		}
	}

	// The bytes are in the upstream bucket, under the order's prefix.
	cl, err := rawClient()
	if err != nil {
		t.Fatal(err)
	}
	r, err := cl.GetObject(context.Background(), upstreamBucket, "alpha/cli/docs..small.-txt", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h := md5.New()
	if _, err := io.Copy(h, r); err != nil {
		t.Fatalf("upstream object: %v", err)
	}
	if got, want := hex.EncodeToString(h.Sum(nil)), md5hex(small); got != want {
		t.Errorf("upstream bytes of docs/small.txt: md5 %s, want %s", got, want)
	}

	aws(t, g, "s3", "rm", "--recursive", "s3://cli/")
	if out := aws(t, g, "s3", "ls", "--recursive", "s3://cli"); strings.TrimSpace(out) != "" {
		t.Errorf("ls after rm --recursive:\n%s", out)
	}
	aws(t, g, "s3", "rb", "s3://cli")
}

func md5hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}
