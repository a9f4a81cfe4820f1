package caddy

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestCaddyWebsite serves a bucket as a static site through the built
// Caddy over HTTPS (`tls internal`): signed requests reach the S3 API
// (where the site is uploaded and configured), unsigned ones the site
// (`s3gateway { website site }`), both handlers sharing the order's
// store. The site answers its index document, the error document, a
// redirect rule, and refuses private objects.
func TestCaddyWebsite(t *testing.T) {
	bin := buildBinary(t, "caddy")
	dir := t.TempDir()
	const ak, sk = "web-ak", "web-secret-key"
	cfg := filepath.Join(dir, "user.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "[gateway]\naccess_key = %q\nsecret_key = %q\n\n[broker]\nextra_order_id = \"web\"\ndb_path = %q\n",
		ak, sk, filepath.Join(dir, "data")), 0o600); err != nil {
		t.Fatal(err)
	}
	site := fmt.Sprintf(`@api header Authorization *
	handle @api {
		s3gateway {
			config %s
		}
	}
	handle {
		s3gateway {
			config %s
			website site
		}
	}`, cfg, cfg)
	c := testproc.StartCaddy(t, bin, dir, "", site, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli := sdkClient(c.Client, c.Endpoint, ak, sk)
	b := aws.String("site")
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b, ObjectOwnership: types.ObjectOwnershipObjectWriter}); err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct{ key, body string }{
		{"index.html", "<h1>home</h1>"}, {"blog/index.html", "<h1>blog</h1>"}, {"404.html", "<h1>not here</h1>"}, {"private.html", "secret"},
	} {
		in := &s3.PutObjectInput{Bucket: b, Key: aws.String(o.key), Body: strings.NewReader(o.body), ContentType: aws.String("text/html")}
		if o.key != "private.html" {
			in.ACL = types.ObjectCannedACLPublicRead
		}
		if _, err := cli.PutObject(ctx, in); err != nil {
			t.Fatalf("PutObject %s: %v", o.key, err)
		}
	}
	if _, err := cli.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: &types.WebsiteConfiguration{
		IndexDocument: &types.IndexDocument{Suffix: aws.String("index.html")},
		ErrorDocument: &types.ErrorDocument{Key: aws.String("404.html")},
		RoutingRules: []types.RoutingRule{{
			Condition: &types.Condition{KeyPrefixEquals: aws.String("news/")},
			Redirect:  &types.Redirect{ReplaceKeyPrefixWith: aws.String("blog/"), HttpRedirectCode: aws.String("302")},
		}},
	}}); err != nil {
		t.Fatal(err)
	}

	noFollow := *c.Client
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	get := func(path string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, c.Endpoint+path, nil)
		return send(t, &noFollow, req)
	}
	for _, tc := range []struct {
		path   string
		status int
		want   string // in the body, or the Location of a redirect
	}{
		{"/", 200, "<h1>home</h1>"},
		{"/blog/", 200, "<h1>blog</h1>"},
		{"/blog", 302, "/blog/"},
		{"/news/post.html", 302, c.Endpoint + "/blog/post.html"},
		{"/missing.html", 403, "<h1>not here</h1>"}, // not listable: 403, as S3
		{"/private.html", 403, "<h1>not here</h1>"},
	} {
		resp, body := get(tc.path)
		got := body
		if resp.StatusCode/100 == 3 {
			got = resp.Header.Get("Location")
		}
		if resp.StatusCode != tc.status || !strings.Contains(got, tc.want) || strings.Contains(body, "secret") || resp.TLS == nil {
			t.Errorf("GET %s: %s %q (Location %q), want %d with %q", tc.path, resp.Status, body, resp.Header.Get("Location"), tc.status, tc.want)
		}
	}

	// Made listable, a missing page is a 404 with the error document; the
	// private object stays refused.
	if _, err := cli.PutBucketAcl(ctx, &s3.PutBucketAclInput{Bucket: b, ACL: types.BucketCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	if resp, body := get("/missing.html"); resp.StatusCode != 404 || !strings.Contains(body, "<h1>not here</h1>") {
		t.Errorf("GET /missing.html when listable: %s %q", resp.Status, body)
	}
	if resp, body := get("/private.html"); resp.StatusCode != 403 || strings.Contains(body, "secret") {
		t.Errorf("GET /private.html when listable: %s %q", resp.Status, body)
	}
	req, _ := http.NewRequest(http.MethodDelete, c.Endpoint+"/index.html", nil)
	if resp, body := send(t, &noFollow, req); resp.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(body, "MethodNotAllowed") {
		t.Errorf("unsigned DELETE on the site: %s %q", resp.Status, body)
	}
}
