package embedded

import (
	"bufio"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

const crashEnv = "EMBEDDED_CRASH_DIR"

// TestCrashChild is the child process of TestCrash: it writes until it is
// killed, printing "ACK <op> <key> <md5>" once each write is acknowledged.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashEnv)
	if dir == "" {
		t.Skip("helper process of TestCrash")
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fmt.Println("OPEN", err)
		os.Exit(2)
	}
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "crash"); err != nil && !errors.Is(err, store.ErrBucketExists) {
		fmt.Println("BUCKET", err)
		os.Exit(2)
	}
	round := os.Getenv("EMBEDDED_CRASH_ROUND")
	var mu sync.Mutex
	ack := func(op, key string, data []byte) {
		sum := md5.Sum(data)
		mu.Lock()
		fmt.Printf("ACK %s %s %s\n", op, key, hex.EncodeToString(sum[:]))
		mu.Unlock()
	}
	fail := func(what string, err error) {
		mu.Lock()
		fmt.Printf("FAIL %s: %v\n", what, err)
		mu.Unlock()
		os.Exit(3)
	}
	sizes := []int{0, 10, 4 << 10, 60 << 10, 70 << 10, 300 << 10, 2 << 20}
	for g := range 8 {
		go func() {
			rnd := rand.New(rand.NewPCG(uint64(g), uint64(len(round))))
			for i := 0; ; i++ {
				key := fmt.Sprintf("r%s/w%d/%06d", round, g, i)
				data := storetest.Data(rnd.Uint64(), sizes[rnd.IntN(len(sizes))])
				in := store.PutInput{Body: bytes.NewReader(data), Size: int64(len(data))} // no Sums: the store hashes
				if i%2 == 1 {
					in.Size = -1
				}
				if _, err := s.PutObject(ctx, "crash", key, in); err != nil {
					fail("put "+key, err)
				}
				ack("put", key, data)
				if i%5 == 4 {
					hot := fmt.Sprintf("hot/%d", rnd.IntN(3))
					if _, err := s.PutObject(ctx, "crash", hot, store.PutInput{Body: bytes.NewReader(data), Size: int64(len(data))}); err != nil {
						fail("put "+hot, err)
					}
				}
				if i%7 == 6 {
					old := fmt.Sprintf("r%s/w%d/%06d", round, g, i-3)
					ack("deleting", old, nil) // from now on it may be gone
					if err := s.DeleteObject(ctx, "crash", old); err != nil {
						fail("delete "+old, err)
					}
					ack("del", old, nil)
				}
			}
		}()
	}
	go crashVersions(s, round, ack, fail)
	go func() {
		// Multipart uploads: completed ones and abandoned ones.
		for i := 0; ; i++ {
			key := fmt.Sprintf("r%s/mp/%04d", round, i)
			id, err := s.CreateMultipartUpload(ctx, "crash", key, store.UploadInput{})
			if err != nil {
				fail("create upload", err)
			}
			p1 := storetest.Data(uint64(i), store.MinPartSize)
			p2 := storetest.Data(uint64(i)+1000, 1000+i)
			var parts []store.CompletePart
			for n, p := range [][]byte{p1, p2} {
				part, err := s.UploadPart(ctx, "crash", key, id, n+1, store.PutInput{Body: bytes.NewReader(p), Size: int64(len(p))})
				if err != nil {
					fail("upload part", err)
				}
				parts = append(parts, store.CompletePart{Number: n + 1, ETag: part.ETag})
			}
			if i%3 == 2 {
				continue // left in progress
			}
			if _, err := s.CompleteMultipartUpload(ctx, "crash", key, id, parts, store.CompleteInput{}); err != nil {
				fail("complete", err)
			}
			ack("mp", key, append(bytes.Clone(p1), p2...))
		}
	}()
	select {}
}

// crashVersions writes versions of a few keys of the versioned bucket
// "crashv" until the process is killed: new versions ("vput
// key@version md5"), delete markers ("vmark key@version") and deletes of
// versions by id ("vdeleting", then "vdel key@version").
func crashVersions(s *Store, round string, ack func(op, key string, data []byte), fail func(string, error)) {
	ctx := context.Background()
	if err := s.CreateBucket(ctx, "crashv"); err != nil && !errors.Is(err, store.ErrBucketExists) {
		fail("bucket crashv", err)
	}
	if err := s.SetBucketVersioning(ctx, "crashv", store.Enabled); err != nil {
		fail("versioning", err)
	}
	var written []string // key@version
	for i := 0; ; i++ {
		key := fmt.Sprintf("r%s/v%d", round, i%4)
		data := storetest.Data(uint64(i), []int{0, 100, 70 << 10}[i%3])
		o, err := s.PutObject(ctx, "crashv", key, store.PutInput{Body: bytes.NewReader(data), Size: int64(len(data))})
		if err != nil {
			fail("put version", err)
		}
		written = append(written, key+"@"+o.VersionID)
		ack("vput", key+"@"+o.VersionID, data)
		if i%5 == 4 {
			r, err := s.DeleteObjectVersion(ctx, "crashv", key, "")
			if err != nil {
				fail("delete marker", err)
			}
			ack("vmark", key+"@"+r.VersionID, nil)
		}
		if i%3 == 2 {
			old := written[len(written)/2]
			k, vid, _ := strings.Cut(old, "@")
			ack("vdeleting", old, nil)
			if _, err := s.DeleteObjectVersion(ctx, "crashv", k, vid); err != nil {
				fail("delete version", err)
			}
			ack("vdel", old, nil)
		}
	}
}

// runCrashChild runs TestCrashChild on dir, kills it with SIGKILL after
// about acks acknowledged writes, and returns the acknowledgements.
func runCrashChild(t *testing.T, dir string, round, acks int) []string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), crashEnv+"="+dir, fmt.Sprintf("EMBEDDED_CRASH_ROUND=%d", round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	var lines []string
	killed := false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "ACK "):
			lines = append(lines, strings.TrimPrefix(line, "ACK "))
		case strings.HasPrefix(line, "FAIL"), strings.HasPrefix(line, "OPEN"), strings.HasPrefix(line, "BUCKET"):
			t.Errorf("child: %s", line)
		}
		if len(lines) >= acks && !killed {
			cmd.Process.Kill() // SIGKILL: no cleanup at all
			killed = true
		}
	}
	cmd.Wait()
	if !killed {
		t.Fatalf("child exited before %d acknowledgements (got %d)", acks, len(lines))
	}
	return lines
}

// TestCrash kills a writing process at random moments and checks that
// every acknowledged write survives, no object is partial, Usage is
// exact, and no unreferenced data file is left.
func TestCrash(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	dir := t.TempDir()
	want := map[string]string{}     // key → md5 of acknowledged content ("" deleted)
	maybe := map[string]string{}    // key → md5 of content that may have been deleted
	versions := map[string]string{} // key@version → md5 (a delete marker: of nothing), "gone" deleted
	for round := range 3 {
		for _, line := range runCrashChild(t, dir, round, 150+rand.IntN(200)) {
			f := strings.Fields(line)
			switch f[0] {
			case "vput", "vmark":
				versions[f[1]] = f[2]
			case "vdeleting":
				delete(versions, f[1])
			case "vdel":
				versions[f[1]] = "gone"
			case "put", "mp":
				want[f[1]] = f[2]
			case "deleting":
				maybe[f[1]] = want[f[1]]
				delete(want, f[1])
			case "del":
				delete(maybe, f[1])
				want[f[1]] = ""
			}
		}
	}
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := t.Context()
	for key, sum := range want {
		o, rc, err := s.GetObject(ctx, "crash", key, nil)
		if sum == "" {
			if !errors.Is(err, store.ErrNoSuchKey) {
				t.Errorf("%s: deleted, but GetObject = %v", key, err)
			}
			if rc != nil {
				rc.Close()
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: acknowledged, but %v", key, err)
			continue
		}
		h := md5.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if got := hex.EncodeToString(h.Sum(nil)); err != nil || got != sum {
			t.Errorf("%s: content md5 %s (%v), acknowledged %s", key, got, err, sum)
		}
		if len(o.Parts) == 0 && o.ETag != sum {
			t.Errorf("%s: ETag %s, acknowledged %s", key, o.ETag, sum)
		}
	}
	for key, sum := range maybe {
		_, rc, err := s.GetObject(ctx, "crash", key, nil)
		if errors.Is(err, store.ErrNoSuchKey) {
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", key, err)
			continue
		}
		h := md5.New()
		_, err = io.Copy(h, rc)
		rc.Close()
		if got := hex.EncodeToString(h.Sum(nil)); err != nil || got != sum {
			t.Errorf("%s: content md5 %s (%v), acknowledged %s", key, got, err, sum)
		}
	}
	checkCrashVersions(t, s, versions)
	t.Logf("%d acknowledged writes, %d interrupted deletes, %d versions checked", len(want), len(maybe), len(versions))
	checkConsistent(t, s)
}

// checkConsistent reads every object whole, checks Usage against the
// listings and the uploads, and checks that the data files on disk are
// exactly those the index references.
func checkConsistent(t *testing.T, s *Store) {
	t.Helper()
	ctx := t.Context()
	var bytes, objects int64
	buckets, err := s.ListBuckets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range buckets {
		n, o := checkBucket(t, s, b.Name)
		bytes, objects = bytes+n, objects+o
	}
	c, err := store.Recount(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	if u, _ := s.Usage(ctx); u != c.Usage || c.Data < bytes || u.Objects != objects {
		t.Errorf("Usage = %+v, a recount charges %+v; listings have %d bytes in %d objects (parts excluded)", u, c.Usage, bytes, objects)
	}
	onDisk, referenced := dataFiles(t, s), referencedFiles(t, s)
	for id := range onDisk {
		if !referenced[id] {
			t.Errorf("data file %s is not referenced", id)
		}
	}
	for id := range referenced {
		if !onDisk[id] {
			t.Errorf("data file %s is referenced but missing", id)
		}
	}
}

// checkBucket reads every version of every object of bucket whole and
// returns the bytes (parts of uploads included) and objects (versions) it
// holds.
func checkBucket(t *testing.T, s *Store, bucket string) (bytes, objects int64) {
	t.Helper()
	ctx := t.Context()
	opts := store.VersionsOptions{}
	for {
		p, err := s.ListObjectVersions(ctx, bucket, opts)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range p.Versions {
			if o.DeleteMarker {
				continue
			}
			objects++
			bytes += o.Size
			g, rc, err := s.GetObjectVersion(ctx, bucket, o.Key, o.VersionID, nil)
			if err != nil {
				t.Errorf("%s@%s: listed but %v", o.Key, o.VersionID, err)
				continue
			}
			h := md5.New()
			n, err := io.Copy(h, rc)
			rc.Close()
			if err != nil || n != o.Size {
				t.Errorf("%s: read %d of %d bytes: %v", o.Key, n, o.Size, err)
			}
			if len(g.Parts) == 0 && hex.EncodeToString(h.Sum(nil)) != g.ETag {
				t.Errorf("%s: content does not match its ETag: partial object", o.Key)
			}
		}
		if !p.Truncated {
			break
		}
		opts.KeyMarker, opts.VersionIDMarker = p.NextKeyMarker, p.NextVersionIDMarker
	}
	ups, err := s.ListMultipartUploads(ctx, bucket, store.UploadsOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups.Uploads {
		lp, err := s.ListParts(ctx, bucket, u.Key, u.UploadID, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range lp.Parts {
			bytes += p.Size
		}
	}
	return bytes, objects
}

// dataFiles lists every file under dir/data.
func dataFiles(t *testing.T, s *Store) map[fileID]bool {
	t.Helper()
	out := map[fileID]bool{}
	subs, err := os.ReadDir(s.data.root)
	if err != nil {
		t.Fatal(err)
	}
	for _, sub := range subs {
		files, err := os.ReadDir(s.data.root + "/" + sub.Name())
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			id, ok := parseFileID(f.Name())
			if !ok {
				t.Errorf("unexpected file %s/%s", sub.Name(), f.Name())
			}
			out[id] = true
		}
	}
	return out
}

// referencedFiles lists the data files the index references.
func referencedFiles(t *testing.T, s *Store) map[fileID]bool {
	t.Helper()
	out := map[fileID]bool{}
	err := s.db.View(func(tx *bbolt.Tx) error {
		err := tx.Bucket(bktBuckets).ForEachBucket(func(name []byte) error {
			return forEachVersion(tx.Bucket(bktBuckets).Bucket(name), func(k, v []byte) error {
				r, err := decodeObject(v, decodeList)
				if err != nil {
					return err
				}
				for _, id := range r.files() {
					out[id] = true
				}
				return nil
			})
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bktParts).ForEach(func(k, v []byte) error {
			p, err := decodePart(v)
			if err == nil {
				out[p.file] = true
			}
			return err
		})
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkCrashVersions checks the acknowledged versions of crashVersions:
// each is readable with its content, a delete marker or gone, as
// acknowledged.
func checkCrashVersions(t *testing.T, s *Store, versions map[string]string) {
	t.Helper()
	ctx := t.Context()
	marker := md5.Sum(nil)
	for kv, sum := range versions {
		key, vid, _ := strings.Cut(kv, "@")
		o, rc, err := s.GetObjectVersion(ctx, "crashv", key, vid, nil)
		switch {
		case sum == "gone":
			if !errors.Is(err, store.ErrNoSuchVersion) {
				t.Errorf("%s: deleted, but %v", kv, err)
			}
		case errors.Is(err, store.ErrMethodNotAllowed):
			if sum != hex.EncodeToString(marker[:]) {
				t.Errorf("%s: a delete marker, acknowledged as a version", kv)
			}
		case err != nil:
			t.Errorf("%s: acknowledged, but %v", kv, err)
		default:
			h := md5.New()
			_, err = io.Copy(h, rc)
			if got := hex.EncodeToString(h.Sum(nil)); err != nil || got != sum || o.VersionID != vid {
				t.Errorf("%s: content md5 %s (%v), acknowledged %s", kv, got, err, sum)
			}
		}
		if rc != nil {
			rc.Close()
		}
	}
}
