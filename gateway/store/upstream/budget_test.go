package upstream

import (
	"bytes"
	"io"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// TestBufferBudget: a body the buffering budget has no room for streams
// instead of being read whole, and is stored all the same (content,
// ETag, checksum); a buffered one gives its budget back.
func TestBufferBudget(t *testing.T) {
	srv := server(t, 1)
	s := open(t, config(srv, newPrefix(t)))
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "budget"); err != nil {
		t.Fatal(err)
	}
	check := func(key string, data []byte, alg string) {
		t.Helper()
		in := storetest.Input(t, data, alg)
		obj, err := s.PutObject(ctx, "budget", key, in)
		if err != nil {
			t.Fatalf("PutObject %s: %v", key, err)
		}
		if obj.ETag != storetest.MD5Hex(data) {
			t.Errorf("%s: ETag %s, want %s", key, obj.ETag, storetest.MD5Hex(data))
		}
		got, rc, err := s.GetObject(ctx, "budget", key, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(b, data) {
			t.Errorf("%s: content differs (%v)", key, err)
		}
		if alg != "" && (got.Checksum.Algorithm != alg || got.Checksum.Value == "") {
			t.Errorf("%s: checksum %+v, want %s", key, got.Checksum, alg)
		}
	}
	data := storetest.Data(1, 100<<10)
	check("buffered", data, store.CRC32C)
	if u := s.buffered.used.Load(); u != 0 {
		t.Errorf("budget not given back: %d bytes used", u)
	}
	s.buffered.max = 0 // taken by other uploads: bodies stream
	check("streamed", data, store.CRC32C)
	check("streamed-plain", storetest.Data(2, 10), "")
}
