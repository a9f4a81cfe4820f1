package e2e

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestGatewayWebsiteDomain runs `storagecli gateway run` with
// --gateway.website_domain: requests for <bucket>.<website_domain> are
// the bucket's website (public objects, HTML errors, not the console),
// the others the S3 API.
func TestGatewayWebsiteDomain(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	if err := initHome(home); err != nil {
		t.Fatal(err)
	}
	addr, err := testproc.FreeAddrNow()
	if err != nil {
		t.Fatal(err)
	}
	g, err := startGatewayAt(home, addr, filepath.Join(t.TempDir(), "gateway.log"), "--gateway.website_domain", "web.test")
	if err != nil {
		t.Fatal(err)
	}
	cleanupGateway(t, g)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := newS3Client(g)
	b := aws.String("site")
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: b, ObjectOwnership: types.ObjectOwnershipObjectWriter}); err != nil {
		t.Fatal(err)
	}
	for key, acl := range map[string]types.ObjectCannedACL{"index.html": types.ObjectCannedACLPublicRead, "private.html": ""} {
		if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: b, Key: aws.String(key), ACL: acl,
			Body: strings.NewReader("<p>" + key + "</p>"), ContentType: aws.String("text/html")}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: &types.WebsiteConfiguration{
		IndexDocument: &types.IndexDocument{Suffix: aws.String("index.html")}}}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, g.endpoint()+path, nil)
		req.Host = "site.web.test"
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(body)
	}
	if code, _, body := get("/"); code != 200 || body != "<p>index.html</p>" {
		t.Errorf("GET /: %d %q", code, body)
	}
	if code, ct, body := get("/private.html"); code != 403 || !strings.HasPrefix(ct, "text/html") || strings.Contains(body, "<p>private.html</p>") {
		t.Errorf("GET /private.html: %d %s %q", code, ct, body)
	}
	if code, _, body := get("/_console/"); code != 403 || strings.Contains(body, "console") {
		t.Errorf("GET /_console/ on the website: %d %q", code, body)
	}
}
