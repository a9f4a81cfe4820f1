package upstream

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
)

// The whole upstream cluster stops: requests get 503 ServiceUnavailable
// S3 errors instead of hanging; when it is back, the same gateway serves
// again without a restart. (Runs last: it stops the shared cluster.)
func TestUpstreamDownAndBack(t *testing.T) {
	env(t)
	ctx := context.Background()
	g := orders["alpha"]
	cl := client(t, g, g.accessKey, g.secretKey)
	if err := cl.MakeBucket(ctx, "updown", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, cl, "updown", "before", "written before the outage")

	cluster.Stop()
	defer func() {
		if err := cluster.Start(); err != nil {
			t.Errorf("restarting the cluster: %v", err)
		}
	}()
	// A client that waits at most a minute (botocore's read timeout): a
	// hang would be its timeout, not an S3 error.
	hc := &http.Client{Timeout: time.Minute}
	ops := []struct {
		name string
		do   func() error
	}{
		{"ListBuckets", func() error { _, err := cl.ListBuckets(ctx); return err }},
		{"GetObject", func() error {
			r, err := cl.GetObject(ctx, "updown", "before", minio.GetObjectOptions{})
			if err == nil {
				_, err = io.ReadAll(r)
			}
			return err
		}},
		{"PutObject", func() error {
			_, err := cl.PutObject(ctx, "updown", "during", strings.NewReader("x"), 1, minio.PutObjectOptions{})
			return err
		}},
		{"ListObjects", func() error {
			for o := range cl.ListObjects(ctx, "updown", minio.ListObjectsOptions{}) {
				return o.Err
			}
			return nil
		}},
	}
	for _, op := range ops {
		start := time.Now()
		err := op.do()
		er := minio.ToErrorResponse(err)
		if er.StatusCode != http.StatusServiceUnavailable || (er.Code != "ServiceUnavailable" && er.Code != "SlowDown") {
			t.Errorf("%s with the upstream down: %v (HTTP %d %s), want 503 ServiceUnavailable", op.name, err, er.StatusCode, er.Code)
		}
		t.Logf("%s: %s after %v", op.name, er.Code, time.Since(start).Round(time.Millisecond))
	}
	req, _ := http.NewRequest(http.MethodGet, g.endpoint()+"/", nil)
	if resp, err := hc.Do(req); err != nil {
		t.Errorf("plain request with the upstream down: %v", err)
	} else {
		resp.Body.Close()
	}

	if err := cluster.Start(); err != nil {
		t.Fatalf("restarting the cluster: %v", err)
	}
	// Back: the same gateway process works again.
	var err error
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
		if _, err = cl.PutObject(ctx, "updown", "after", strings.NewReader("after"), 5, minio.PutObjectOptions{}); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("the gateway did not recover: %v", err)
	}
	for key, want := range map[string]string{"before": "written before the outage", "after": "after"} {
		r, err := cl.GetObject(ctx, "updown", key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || string(got) != want {
			t.Errorf("%s after recovery: %q, %v", key, got, err)
		}
	}
	if g.Exited() {
		t.Error("the gateway exited")
	}
}
