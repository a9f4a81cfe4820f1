package embedded

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/lambda/storagecli/gateway/store/storetest"
)

// TestDiskFull: a write the disk has no room for fails with an error that
// still says so (ENOSPC, which the gateway answers 507 InsufficientStorage),
// leaves nothing behind, and reads and deletes keep working. A large body
// (directMinSize or more) takes the direct path first: /dev/full refuses
// O_DIRECT, so this also covers its fallback.
func TestDiskFull(t *testing.T) {
	for _, size := range []int{100 << 10, 2 * directMinSize} {
		t.Run(strconv.Itoa(size), func(t *testing.T) { testDiskFull(t, size) })
	}
}

func testDiskFull(t *testing.T, size int) {
	s := newBucket(t, Options{InlineLimit: -1})
	old := bytes.Repeat([]byte("x"), 100<<10)
	put(t, s, "old", old)

	defer func(f func(string) (*os.File, error)) { openNew = f }(openNew)
	openNew = func(string) (*os.File, error) { return os.OpenFile("/dev/full", os.O_WRONLY, 0) }

	_, err := s.PutObject(t.Context(), "bkt", "new", storetest.Input(t, bytes.Repeat([]byte("y"), size), ""))
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("PutObject on a full disk: %v, want an error wrapping ENOSPC", err)
	}
	if _, err := s.HeadObject(t.Context(), "bkt", "new"); err == nil {
		t.Error("the failed object exists")
	}
	_, rc, err := s.GetObject(t.Context(), "bkt", "old", nil)
	if err != nil {
		t.Fatalf("GetObject on a full disk: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || !bytes.Equal(got, old) {
		t.Errorf("reading an object on a full disk: %v", err)
	}
	if err := s.DeleteObject(t.Context(), "bkt", "old"); err != nil {
		t.Errorf("DeleteObject on a full disk: %v", err)
	}
}
