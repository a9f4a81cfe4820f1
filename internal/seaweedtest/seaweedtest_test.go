package seaweedtest

import (
	"bytes"
	"context"
	"io"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// TestCluster: an object written through one S3 front end reads back
// through the other, also with one volume server stopped (replication 001
// keeps a second copy); the stopped server starts again, and the whole
// cluster stops and starts with its data.
func TestCluster(t *testing.T) {
	c := Start(t, Options{})
	if len(c.Endpoints) != 2 || c.Endpoints[0] == c.Endpoints[1] || c.Volumes() != 3 {
		t.Fatalf("front ends %v, %d volume servers", c.Endpoints, c.Volumes())
	}
	if err := c.MakeBucket("bkt"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	c0, err := c.Client(0)
	if err != nil {
		t.Fatal(err)
	}
	c1, err := c.Client(1)
	if err != nil {
		t.Fatal(err)
	}
	data := bytes.Repeat([]byte("seaweed "), 1<<16)
	put := func(cl *minio.Client, key string) {
		t.Helper()
		if _, err := cl.PutObject(ctx, "bkt", key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
			t.Fatalf("put %s: %v", key, err)
		}
	}
	get := func(cl *minio.Client, key string) {
		t.Helper()
		r, err := cl.GetObject(ctx, "bkt", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatalf("get %s: %v", key, err)
		}
		defer r.Close()
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("get %s: %d bytes, %v; want %d", key, len(got), err, len(data))
		}
	}
	put(c0, "k")
	get(c1, "k")
	for i := range c.Volumes() {
		// Each volume server in turn: every object keeps one copy.
		c.StopVolume(i)
		get(c0, "k")
		if err := c.StartVolume(i); err != nil {
			t.Fatal(err)
		}
	}
	c.Stop()
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	get(c1, "k")
	if pids := c.PIDs(); len(pids) != 7 || pids[0] == 0 {
		t.Errorf("pids %v", pids)
	}
}
