package embedded

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"testing/iotest"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// Large bodies are written around the page cache: once PutObject returns,
// on a file system that takes O_DIRECT at most the data file's last page
// (the tail below the alignment, written through the page cache) is cached,
// and the object reads back intact. Sizes around the alignment and buffer boundaries.
func TestDirectWrites(t *testing.T) {
	s := newBucket(t, Options{})
	direct := supportsDirect(t, s.dir)
	for i, size := range []int{directMinSize, directMinSize + 1, 3*directBufSize + directAlign - 1,
		3*directBufSize + directAlign, 2*directBufSize + 5000, directMinSize - 1} {
		data := storetest.Data(uint64(i), size)
		key := string(rune('a' + i))
		put(t, s, key, data)
		if direct {
			cached := cachedPages(t, s.filePath(record(t, s, key).segs[0].id))
			switch {
			case size >= directMinSize && cached > 1:
				t.Errorf("%d bytes written directly: %d pages in the page cache, want at most the tail's", size, cached)
			case size < directMinSize && cached == 0:
				t.Errorf("%d bytes (below directMinSize): none in the page cache, want a buffered write", size)
			}
		}
		_, body, err := s.GetObject(t.Context(), "bkt", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(body)
		body.Close()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: %d read back, %v", size, len(got), err)
		}
	}
	if !direct {
		t.Logf("%s does not bypass the page cache with O_DIRECT: only that the objects read back was tested", s.dir)
	}
}

// supportsDirect reports whether files in dir take O_DIRECT and bypass the
// page cache with it (tmpfs takes O_DIRECT since Linux 6.6, but its files
// live in the page cache).
func supportsDirect(t *testing.T, dir string) bool {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	if st.Type == unix.TMPFS_MAGIC || st.Type == unix.RAMFS_MAGIC {
		return false
	}
	f, err := os.Create(filepath.Join(dir, "probe"))
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return setDirect(f, true) == nil
}

// cachedPages counts the pages of the file at path in the page cache.
func cachedPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	page := os.Getpagesize()
	vec := make([]byte, (len(m)+page-1)/page)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}

// Direct buffer sets are aligned and bounded: with all of them in use an
// upload gets none (and writes through its block buffer).
func TestDirectBufsBounded(t *testing.T) {
	var held []*[]byte
	for bp := getDirectBuf(); bp != nil; bp = getDirectBuf() {
		if len(*bp) != directBufs*directBufSize || addrOf(*bp)%directAlign != 0 {
			t.Fatalf("direct buffer of %d bytes at %#x", len(*bp), addrOf(*bp))
		}
		held = append(held, bp)
		if len(held) > maxDirectBufs {
			t.Fatalf("more than %d direct buffers", maxDirectBufs)
		}
	}
	for _, bp := range held {
		putDirectBuf(bp)
	}
	if bp := getDirectBuf(); bp == nil {
		t.Error("no direct buffer after all were returned")
	} else {
		putDirectBuf(bp)
	}
}

// A body that fails part-way through a direct write (with a write in
// flight) fails the PutObject with the body's error and leaves no data
// file; the same goes for a body shorter or longer than declared.
func TestDirectWriteBodyFails(t *testing.T) {
	s := newBucket(t, Options{})
	errBody := errors.New("client went away")
	data := storetest.Data(7, 5*directBufSize/2)
	for _, c := range []struct {
		name string
		body io.Reader
		size int64
		want error
	}{
		{"error", io.MultiReader(bytes.NewReader(data), iotest.ErrReader(errBody)), 4 * directBufSize, errBody},
		{"short", bytes.NewReader(data), 4 * directBufSize, store.ErrIncompleteBody},
		{"long", bytes.NewReader(data), 2 * directBufSize, store.ErrIncompleteBody},
	} {
		in := storetest.NewBody(t, c.body, "").Input(c.size)
		if _, err := s.PutObject(t.Context(), "bkt", c.name, in); !errors.Is(err, c.want) {
			t.Errorf("%s: PutObject: %v, want %v", c.name, err, c.want)
		}
		if _, err := s.HeadObject(t.Context(), "bkt", c.name); err == nil {
			t.Errorf("%s: the failed object exists", c.name)
		}
	}
	files := 0
	err := filepath.WalkDir(filepath.Join(s.dir, dataDir), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			files++
		}
		return err
	})
	if err != nil || files != 0 {
		t.Errorf("%d data files left behind (%v)", files, err)
	}
}
