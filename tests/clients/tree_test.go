package clients

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// bigSize is the size of source/big.bin: above the multipart threshold of
// every client at its defaults (aws cli 8 MiB, s3cmd 15 MiB, the
// JavaScript SDK's Upload 5 MiB) and not a multiple of any part size.
const bigSize = 20<<20 + 12345

// sourceFiles are the files of the source tree (slash-separated paths
// relative to it) and their sizes: a multipart-sized file, an empty file,
// keys with spaces, non-ASCII characters and '+', and nested prefixes.
var sourceFiles = map[string]int{
	"big.bin":                            bigSize,
	"docs/readme.txt":                    1234,
	"docs/empty":                         0,
	"docs/with space & ünïcode+plus.txt": 4096,
	"docs/deep/nested/one-mib.bin":       1<<20 + 1,
	"docs/deep/nested/small.json":        77,
}

// writeSource writes the source tree under dir: deterministic
// pseudo-random bytes, a different stream for each file.
func writeSource(dir string) error {
	seed := uint64(0)
	for _, rel := range sortedKeys(sourceFiles) {
		seed++
		path := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		var s [32]byte
		binary.LittleEndian.PutUint64(s[:], seed)
		_, err = io.CopyN(f, rand.NewChaCha8(s), int64(sourceFiles[rel]))
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sortedKeys returns the keys of m in order.
func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// keysUnder returns the source files under prefix ("" for all), as keys
// with prefix replaced by under.
func keysUnder(prefix, under string) []string {
	var keys []string
	for _, rel := range sortedKeys(sourceFiles) {
		if len(rel) >= len(prefix) && rel[:len(prefix)] == prefix {
			keys = append(keys, under+rel[len(prefix):])
		}
	}
	return keys
}

// treeFiles returns the regular files under dir (slash-separated,
// relative, sorted).
func treeFiles(t *testing.T, dir string) []string {
	t.Helper()
	var files []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	if err != nil {
		t.Fatalf("walking %s: %v", dir, err)
	}
	slices.Sort(files)
	return files
}

// wantSameTree checks that got holds exactly the files of want, byte for
// byte.
func wantSameTree(t *testing.T, client, want, got string) {
	t.Helper()
	wf, gf := treeFiles(t, want), treeFiles(t, got)
	if !slices.Equal(wf, gf) {
		t.Errorf("%s: downloaded files %q, want %q", client, gf, wf)
	}
	for _, rel := range wf {
		if slices.Contains(gf, rel) {
			wantSameFile(t, client, filepath.Join(want, rel), filepath.Join(got, rel))
		}
	}
}

// wantSameFile checks that the file got has the bytes of the file want.
func wantSameFile(t *testing.T, client, want, got string) {
	t.Helper()
	a, err := os.ReadFile(want)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(got)
	if err != nil {
		t.Errorf("%s: %v", client, err)
		return
	}
	if !bytes.Equal(a, b) {
		i := 0
		for i < len(a) && i < len(b) && a[i] == b[i] {
			i++
		}
		t.Errorf("%s: %s came back with %d bytes (sent %d), first difference at offset %d", client, filepath.Base(want), len(b), len(a), i)
	}
}

// wantKeys checks a client's listing against the keys wanted.
func wantKeys(t *testing.T, client string, got, want []string) {
	t.Helper()
	got = slices.Clone(got)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("%s listed %q, want %q", client, got, want)
	}
}
