package upstream

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// client is a minio-go client of gateway g signing with the given keys.
func client(t *testing.T, g *gateway, ak, sk string) *minio.Client {
	t.Helper()
	cl, err := minio.New(g.addr, &minio.Options{Creds: credentials.NewStaticV4(ak, sk, ""), Region: "us-east-1", MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	return cl
}

func put(t *testing.T, cl *minio.Client, bucket, key, body string) {
	t.Helper()
	if _, err := cl.PutObject(context.Background(), bucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatalf("put %s/%s: %v", bucket, key, err)
	}
}

func list(t *testing.T, cl *minio.Client, bucket string) []string {
	t.Helper()
	var keys []string
	for o := range cl.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s: %v", bucket, o.Err)
		}
		keys = append(keys, o.Key)
	}
	return keys
}

// leaks reports whether s shows anything of the upstream mapping: the
// upstream bucket, an order prefix, or an encoded key.
func leaks(s string) bool {
	for _, w := range append([]string{upstreamBucket, "alpha/", "beta/", "..", ".-", ".buckets"}, cluster.Endpoints...) {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}

// Two orders share one upstream bucket under different prefixes: neither
// sees or touches the other's buckets and objects, and nothing of the
// mapping reaches clients.
func TestOrdersIsolated(t *testing.T) {
	env(t)
	ctx := context.Background()
	ga, gb := orders["alpha"], orders["beta"]
	a := client(t, ga, ga.accessKey, ga.secretKey)
	b := client(t, gb, gb.accessKey, gb.secretKey)
	for _, c := range []struct {
		cl      *minio.Client
		buckets []string
	}{{a, []string{"shared", "alphaonly"}}, {b, []string{"shared", "betaonly"}}} {
		for _, bk := range c.buckets {
			if err := c.cl.MakeBucket(ctx, bk, minio.MakeBucketOptions{}); err != nil {
				t.Fatalf("make %s: %v", bk, err)
			}
		}
	}
	put(t, a, "shared", "secret.txt", "alpha's secret")
	put(t, a, "shared", "dir/a.b", "dotted")
	put(t, b, "shared", "mine.txt", "beta's")
	put(t, b, "betaonly", "x", "beta only")

	if got := list(t, a, "shared"); !slices.Equal(got, []string{"dir/a.b", "secret.txt"}) {
		t.Errorf("alpha lists %v", got)
	}
	if got := list(t, b, "shared"); !slices.Equal(got, []string{"mine.txt"}) {
		t.Errorf("beta lists %v", got)
	}
	for _, c := range []struct {
		cl         *minio.Client
		has, hasnt string
	}{{a, "alphaonly", "betaonly"}, {b, "betaonly", "alphaonly"}} {
		bs, err := c.cl.ListBuckets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, x := range bs {
			names = append(names, x.Name)
		}
		if !slices.Contains(names, c.has) || slices.Contains(names, c.hasnt) || slices.Contains(names, ".buckets") {
			t.Errorf("buckets %v: want %s, not %s", names, c.has, c.hasnt)
		}
	}

	// Alpha cannot reach beta's objects: not by name, not by traversal,
	// not as a copy source, and not with its keys on beta's gateway.
	if _, err := a.StatObject(ctx, "betaonly", "x", minio.StatObjectOptions{}); minio.ToErrorResponse(err).StatusCode != http.StatusNotFound {
		t.Errorf("alpha stat betaonly/x: %v, want 404", err)
	}
	if r, err := a.GetObject(ctx, "betaonly", "x", minio.GetObjectOptions{}); err == nil {
		if _, err = r.Read(make([]byte, 1)); minio.ToErrorResponse(err).Code != "NoSuchBucket" {
			t.Errorf("alpha get betaonly/x: %v, want NoSuchBucket", err)
		}
	}
	if _, err := a.StatObject(ctx, "shared", "mine.txt", minio.StatObjectOptions{}); minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Errorf("alpha stat shared/mine.txt: %v, want NoSuchKey", err)
	}
	for _, key := range []string{"../../beta/shared/mine.txt", "../betaonly/x", "dir/../../../beta/shared/mine.txt"} {
		r, err := a.GetObject(ctx, "shared", key, minio.GetObjectOptions{})
		if err == nil {
			data, rerr := io.ReadAll(r)
			if rerr == nil {
				t.Errorf("alpha read %q: %q", key, data)
			}
		}
		_, err = a.CopyObject(ctx, minio.CopyDestOptions{Bucket: "shared", Object: "stolen"},
			minio.CopySrcOptions{Bucket: "shared", Object: key})
		if err == nil {
			t.Errorf("alpha copied %q", key)
		}
	}
	if _, err := a.CopyObject(ctx, minio.CopyDestOptions{Bucket: "shared", Object: "stolen"},
		minio.CopySrcOptions{Bucket: "betaonly", Object: "x"}); minio.ToErrorResponse(err).Code != "NoSuchBucket" {
		t.Errorf("alpha copy from betaonly: %v, want NoSuchBucket", err)
	}
	cross := client(t, gb, ga.accessKey, ga.secretKey)
	if _, err := cross.ListBuckets(ctx); minio.ToErrorResponse(err).StatusCode != http.StatusForbidden {
		t.Errorf("alpha's keys on beta's gateway: %v, want 403", err)
	}

	// Errors and listings show only the order's own names.
	_, err := a.StatObject(ctx, "shared", "missing/key.txt", minio.StatObjectOptions{})
	if er := minio.ToErrorResponse(err); er.Code != "NoSuchKey" {
		t.Errorf("missing key: %v", err)
	}
	req, _ := http.NewRequest(http.MethodGet, ga.endpoint()+"/shared/missing.txt", nil)
	resp, err := http.DefaultClient.Do(req) // unsigned: AccessDenied with an XML body
	if err == nil {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if leaks(string(body)) {
			t.Errorf("error body shows the mapping: %s", body)
		}
	}
	r, err := a.GetObject(ctx, "shared", "missing.txt", minio.GetObjectOptions{})
	if err == nil {
		_, err = r.Read(make([]byte, 1))
	}
	if er := minio.ToErrorResponse(err); er.Code != "NoSuchKey" || leaks(er.Message+er.Resource+er.Key+er.BucketName) {
		t.Errorf("GET missing: %+v", er)
	}
	for o := range a.ListObjects(ctx, "shared", minio.ListObjectsOptions{Prefix: "dir/", WithMetadata: false}) {
		if o.Err != nil || o.Key != "dir/a.b" {
			t.Errorf("listing dir/: %q %v", o.Key, o.Err)
		}
	}

	// Upstream, each order's data is under its prefix, keys encoded.
	raw, err := rawClient()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for o := range raw.ListObjects(ctx, upstreamBucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		if strings.Contains(o.Key, "shared/") || strings.Contains(o.Key, "only") {
			names = append(names, o.Key)
		}
	}
	for _, want := range []string{"alpha/shared/secret.-txt", "alpha/shared/dir..a.-b", "beta/shared/mine.-txt", "beta/betaonly/x"} {
		if !slices.Contains(names, want) {
			t.Errorf("upstream lacks %s (has %v)", want, names)
		}
	}
	got, err := raw.GetObject(ctx, upstreamBucket, "beta/shared/mine.-txt", minio.GetObjectOptions{})
	if err == nil {
		data, _ := io.ReadAll(got)
		if !bytes.Equal(data, []byte("beta's")) {
			t.Errorf("beta's object upstream: %q", data)
		}
	}
}
