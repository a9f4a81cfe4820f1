package gateway_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"syscall"
	"testing"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store"
)

// fullDisk is a store whose disk has no room for new data: writes read
// their body and fail as the embedded store does on a full disk (an
// *os.PathError wrapping ENOSPC or EDQUOT; see embedded's TestDiskFull for
// the store's side).
type fullDisk struct {
	store.Store
	errno syscall.Errno
}

func (f fullDisk) err(in store.PutInput) error {
	if in.Body != nil {
		_, _ = io.Copy(io.Discard, in.Body)
	}
	return fmt.Errorf("embedded: write data file: %w", &os.PathError{Op: "write", Path: "/data/x", Err: f.errno})
}

func (f fullDisk) PutObject(_ context.Context, _, _ string, in store.PutInput) (*store.Object, error) {
	return nil, f.err(in)
}

func (f fullDisk) UploadPart(_ context.Context, _, _, _ string, _ int, in store.PutInput) (*store.Part, error) {
	return nil, f.err(in)
}

// TestDiskFullAnswer: a write the disk has no room for answers 507
// InsufficientStorage (which SDKs do not retry), not 500 InternalError
// (which they do); reads and deletes keep working.
func TestDiskFullAnswer(t *testing.T) {
	for _, errno := range []syscall.Errno{syscall.ENOSPC, syscall.EDQUOT} {
		t.Run(errno.Error(), func(t *testing.T) {
			var full fullDisk
			e := newOrderEnv(t, func(t *testing.T) (store.Store, func(context.Context) (store.Usage, error)) {
				st, _ := openEmbedded(t)
				full = fullDisk{Store: st, errno: errno}
				return full, nil
			}, &order.Order{ID: "o1"})
			e.ok("PUT", "/bkt", nil)
			if _, err := full.Store.PutObject(t.Context(), "bkt", "old", store.PutInput{Body: bytes.NewReader([]byte("old data")), Size: 8}); err != nil {
				t.Fatal(err)
			}
			upload := e.createUpload("/bkt/big")
			for _, path := range []string{"/bkt/new", "/bkt/big?partNumber=1&uploadId=" + upload} {
				resp, b := e.do(testAK, testSK, "PUT", path, []byte("new data"), nil)
				if resp.StatusCode != 507 || !bytes.Contains(b, []byte("<Code>InsufficientStorage</Code>")) {
					t.Errorf("PUT %s on a full disk: %d %s", path, resp.StatusCode, b)
				}
			}
			if got := e.ok("GET", "/bkt/old", nil); string(got) != "old data" {
				t.Errorf("GET on a full disk: %q", got)
			}
			e.ok("DELETE", "/bkt/old", nil)
		})
	}
}
