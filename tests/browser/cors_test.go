package browser

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

// corsScript PUTs with fetch to a presigned URL (its x-amz-meta-* header
// makes the browser send a preflight first), then GETs the object back
// from another presigned URL, reading the exposed ETag. It resolves to
// "put <status> <etag> | get <status> <body>", or "blocked: <error>" when
// the browser refused the response (CORS).
const corsScript = `(async () => {
	try {
		const put = await fetch(%q, {method: "PUT", body: "sent by fetch",
			headers: {"Content-Type": "text/plain", "x-amz-meta-from": "fetch"}});
		const get = await fetch(%q);
		return "put " + put.status + " " + put.headers.get("ETag") + " | get " + get.status + " " + await get.text();
	} catch (e) {
		return "blocked: " + e;
	}
})()`

// TestBrowserCORS: a page from an origin the bucket's CORS rules allow
// PUTs with fetch after a preflight and reads the answer's exposed ETag
// and the object back; the same page from an origin without a rule is
// refused by the browser, and its PUT never reaches the bucket.
func TestBrowserCORS(t *testing.T) {
	ctx := newBrowser(t)
	var preflights atomic.Int32
	cli := corsGateway(t, &preflights)

	// Two origins serving the same (blank) page: localhost and 127.0.0.1.
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<!doctype html><title>app</title>")
	}))
	defer page.Close()
	allowed := strings.Replace(page.URL, "127.0.0.1", "localhost", 1)
	refused := page.URL

	_, err := cli.PutBucketCors(context.Background(), &s3.PutBucketCorsInput{Bucket: aws.String("web"),
		CORSConfiguration: &types.CORSConfiguration{CORSRules: []types.CORSRule{{
			AllowedOrigins: []string{allowed}, AllowedMethods: []string{"GET", "PUT"},
			AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}, MaxAgeSeconds: aws.Int32(60)}}}})
	if err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		origin, key string
		want        func(string) bool
	}{
		{allowed, "allowed.txt", func(s string) bool {
			return strings.HasPrefix(s, `put 200 "`) && strings.HasSuffix(s, `" | get 200 sent by fetch`)
		}},
		{refused, "refused.txt", func(s string) bool { return strings.HasPrefix(s, "blocked: TypeError") }},
	} {
		presign := s3.NewPresignClient(cli)
		put, err := presign.PresignPutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String("web"), Key: aws.String(c.key),
			ContentType: aws.String("text/plain"), Metadata: map[string]string{"from": "fetch"}})
		if err != nil {
			t.Fatal(err)
		}
		get, err := presign.PresignGetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("web"), Key: aws.String(c.key)})
		if err != nil {
			t.Fatal(err)
		}
		before := preflights.Load()
		if err := chromedp.Do(ctx, chromedp.Navigate(c.origin+"/")); err != nil {
			t.Fatal(err)
		}
		res, err := chromedp.Run(ctx, chromedp.Evaluate[string](fmt.Sprintf(corsScript, put.URL, get.URL), chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", c.origin, err)
		}
		t.Logf("fetch from %s: %s", c.origin, res)
		if !c.want(res) {
			t.Errorf("fetch from %s: %s", c.origin, res)
		}
		if preflights.Load() == before {
			t.Errorf("fetch from %s: the browser sent no preflight", c.origin)
		}
	}

	// The allowed PUT stored the object with its metadata; the refused
	// one stopped at the preflight.
	out, err := cli.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("web"), Key: aws.String("allowed.txt")})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(out.Body)
	out.Body.Close()
	if string(body) != "sent by fetch" || out.Metadata["from"] != "fetch" {
		t.Errorf("stored %q with metadata %v", body, out.Metadata)
	}
	if _, err := cli.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("web"), Key: aws.String("refused.txt")}); err == nil {
		t.Error("the PUT refused by CORS stored its object")
	}
}

// corsGateway serves an in-process gateway with bucket "web", counting
// the preflights it answers, and returns an SDK client for it.
func corsGateway(t *testing.T, preflights *atomic.Int32) *s3.Client {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: region,
		Observe: func(r *http.Request, info gateway.RequestInfo) {
			if info.Operation == "PreflightRequest" {
				preflights.Add(1)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cli := s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	return cli
}
