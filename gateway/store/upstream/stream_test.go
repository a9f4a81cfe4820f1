package upstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// failingEnd is a body like the gateway's verifying reader on a digest
// mismatch: every byte, then err instead of io.EOF.
type failingEnd struct {
	r   io.Reader
	err error
}

func (f *failingEnd) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if err == io.EOF {
		return n, f.err
	}
	return n, err
}

// failingAt fails after n bytes (a client that disconnects).
type failingAt struct {
	r   io.Reader
	n   int
	err error
}

func (f *failingAt) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if len(p) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= n
	return n, err
}

// A streamed body that fails at its end (bad digest), in its middle, or
// is shorter or longer than declared never becomes visible upstream, nor
// replaces the object already under the key; nothing is left behind.
func TestStreamedPutFailures(t *testing.T) {
	srv := server(t, 1)
	cfg := config(srv, newPrefix(t))
	cfg.BufferSize = 64 << 10
	s := open(t, cfg)
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "fail"); err != nil {
		t.Fatal(err)
	}
	old := storetest.Data(1, 100)
	if _, err := s.PutObject(ctx, "fail", "k", storetest.Input(t, old, "")); err != nil {
		t.Fatal(err)
	}
	data := storetest.Data(2, 3<<20+5)
	errDigest := errors.New("digest mismatch")
	errGone := errors.New("client went away")
	tests := []struct {
		name string
		body io.Reader
		size int64
		want error
	}{
		{"bad digest at the end", &failingEnd{bytes.NewReader(data), errDigest}, int64(len(data)), errDigest},
		{"error in the middle", &failingAt{bytes.NewReader(data), 1 << 20, errGone}, int64(len(data)), errGone},
		{"error just before the end", &failingAt{bytes.NewReader(data), len(data) - 1, errGone}, int64(len(data)), errGone},
		{"short", bytes.NewReader(data[:len(data)-1]), int64(len(data)), store.ErrIncompleteBody},
		{"long", bytes.NewReader(append(append([]byte{}, data...), 'x')), int64(len(data)), store.ErrIncompleteBody},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := storetest.NewBody(t, tt.body, store.CRC32C)
			_, err := s.PutObject(ctx, "fail", "k", b.Input(tt.size))
			if !errors.Is(err, tt.want) {
				t.Fatalf("PutObject = %v, want %v", err, tt.want)
			}
			_, rc, err := s.GetObject(ctx, "fail", "k", nil)
			if err != nil {
				t.Fatal(err)
			}
			got, _ := io.ReadAll(rc)
			rc.Close()
			if !bytes.Equal(got, old) {
				t.Errorf("the key holds %d bytes, want the old %d", len(got), len(old))
			}
		})
	}
	// Nothing but the object, its bucket marker and (for checksummed
	// bodies that reached their end) completion records exists upstream.
	for o := range s.core.Client.ListObjects(context.Background(), s.bucket, minio.ListObjectsOptions{Prefix: cfg.Prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		name := strings.TrimPrefix(o.Key, cfg.Prefix)
		if name != "fail/k" && name != ".buckets/fail" && !strings.HasPrefix(name, ".mp/") {
			t.Errorf("left upstream: %s (%d bytes)", name, o.Size)
		}
	}
	// A streamed put that works reads back with its checksum.
	b := storetest.NewBody(t, bytes.NewReader(data), store.CRC32C)
	o, err := s.PutObject(ctx, "fail", "k", b.Input(int64(len(data))))
	if err != nil {
		t.Fatal(err)
	}
	fresh := open(t, cfg) // no cached record
	h, err := fresh.HeadObject(ctx, "fail", "k")
	if err != nil || h.ETag != storetest.MD5Hex(data) || h.Checksum != o.Checksum || o.Checksum.Algorithm != store.CRC32C {
		t.Errorf("HeadObject = %+v, %v; put %+v", h, err, o)
	}
}

// Conditional streamed puts are decided by the upstream at its commit:
// of racing If-None-Match: * writers exactly one wins.
func TestStreamedPutConditions(t *testing.T) {
	srv := server(t, 1)
	cfg := config(srv, newPrefix(t))
	cfg.BufferSize = 1 << 10
	s := open(t, cfg)
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "cond"); err != nil {
		t.Fatal(err)
	}
	const writers = 6
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			in := storetest.Input(t, storetest.Data(uint64(w), 1<<20), "")
			in.Cond.IfNoneMatch = "*"
			_, err := s.PutObject(ctx, "cond", "once", in)
			errs <- err
		}()
	}
	wins := 0
	for range writers {
		switch err := <-errs; {
		case err == nil:
			wins++
		case !errors.Is(err, store.ErrPreconditionFailed):
			t.Errorf("writer: %v", err)
		}
	}
	if wins != 1 {
		t.Errorf("%d writers won, want 1", wins)
	}
	// If-Match with a stale ETag fails; with the current one it works.
	cur, err := s.HeadObject(ctx, "cond", "once")
	if err != nil {
		t.Fatal(err)
	}
	in := storetest.Input(t, storetest.Data(99, 1<<20), "")
	in.Cond.IfMatch = storetest.MD5Hex([]byte("stale"))
	if _, err := s.PutObject(ctx, "cond", "once", in); !errors.Is(err, store.ErrPreconditionFailed) {
		t.Errorf("stale If-Match: %v", err)
	}
	in = storetest.Input(t, storetest.Data(99, 1<<20), "")
	in.Cond.IfMatch = cur.ETag
	if _, err := s.PutObject(ctx, "cond", "once", in); err != nil {
		t.Errorf("current If-Match: %v", err)
	}
}
