package gateway_test

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/upstream"
)

// TestBucketWebsiteConfig: Put/Get/DeleteBucketWebsite through the SDK.
func TestBucketWebsiteConfig(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("site")
	b := aws.String("site")
	_, err := e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	wantAPIError(t, "GetBucketWebsite unset", err, "NoSuchWebsiteConfiguration")
	_, err = e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: aws.String("absent")})
	wantAPIError(t, "GetBucketWebsite absent bucket", err, "NoSuchBucket")

	cfg := &types.WebsiteConfiguration{
		IndexDocument: &types.IndexDocument{Suffix: aws.String("index.html")},
		ErrorDocument: &types.ErrorDocument{Key: aws.String("404.html")},
		RoutingRules: []types.RoutingRule{{
			Condition: &types.Condition{KeyPrefixEquals: aws.String("docs/")},
			Redirect:  &types.Redirect{ReplaceKeyPrefixWith: aws.String("documents/"), HttpRedirectCode: aws.String("302")},
		}},
	}
	if _, err := e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.IndexDocument.Suffix) != "index.html" || aws.ToString(got.ErrorDocument.Key) != "404.html" ||
		len(got.RoutingRules) != 1 || aws.ToString(got.RoutingRules[0].Condition.KeyPrefixEquals) != "docs/" ||
		aws.ToString(got.RoutingRules[0].Redirect.ReplaceKeyPrefixWith) != "documents/" ||
		aws.ToString(got.RoutingRules[0].Redirect.HttpRedirectCode) != "302" {
		t.Errorf("GetBucketWebsite = %+v", got)
	}

	_, err = e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: &types.WebsiteConfiguration{
		IndexDocument: &types.IndexDocument{Suffix: aws.String("a/index.html")}}})
	wantAPIError(t, "PutBucketWebsite bad suffix", err, "InvalidArgument")
	_, err = e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: aws.String("absent"), WebsiteConfiguration: cfg})
	wantAPIError(t, "PutBucketWebsite absent bucket", err, "NoSuchBucket")

	// Replaced by a redirect of everything.
	if _, err := e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: &types.WebsiteConfiguration{
		RedirectAllRequestsTo: &types.RedirectAllRequestsTo{HostName: aws.String("example.com"), Protocol: types.ProtocolHttps}}}); err != nil {
		t.Fatal(err)
	}
	got, err = e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	if err != nil || got.RedirectAllRequestsTo == nil || aws.ToString(got.RedirectAllRequestsTo.HostName) != "example.com" ||
		got.RedirectAllRequestsTo.Protocol != types.ProtocolHttps || got.IndexDocument != nil {
		t.Errorf("GetBucketWebsite after replace = %+v, %v", got, err)
	}

	if _, err := e.s3.DeleteBucketWebsite(ctx, &s3.DeleteBucketWebsiteInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	wantAPIError(t, "GetBucketWebsite deleted", err, "NoSuchWebsiteConfiguration")
	if _, err := e.s3.DeleteBucketWebsite(ctx, &s3.DeleteBucketWebsiteInput{Bucket: b}); err != nil {
		t.Errorf("DeleteBucketWebsite again: %v", err)
	}
	_, err = e.s3.DeleteBucketWebsite(ctx, &s3.DeleteBucketWebsiteInput{Bucket: aws.String("absent")})
	wantAPIError(t, "DeleteBucketWebsite absent bucket", err, "NoSuchBucket")
}

// webEnv is an order served with the website endpoint on web.test.
type webEnv struct {
	*orderEnv
}

func newWebEnv(t *testing.T, open storeOpener, o *order.Order) *webEnv {
	t.Helper()
	st, _ := open(t)
	e := &orderEnv{t: t, st: st}
	start := time.Now()
	e.now.Store(&start)
	o.Keys = []order.Key{{AccessKey: testAK, SecretKey: testSK}}
	var err error
	e.h, err = gateway.New(gateway.Options{Store: st, Order: o, Region: testRegion, WebsiteDomain: "web.test",
		Now: func() time.Time { return *e.now.Load() }})
	if err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.h.WithWebsites(e.h))
	t.Cleanup(e.srv.Close)
	return &webEnv{e}
}

// web sends an unsigned request for host (a website), never following
// redirects.
func (e *webEnv) web(method, host, path string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Host = host
	cli := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cli.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s%s: %v", method, host, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// wantPage checks a website answer's status and that its body holds want
// (and, for a redirect, its Location).
func (e *webEnv) wantPage(method, host, path string, status int, want string) *http.Response {
	e.t.Helper()
	resp, body := e.web(method, host, path)
	got := body
	if resp.StatusCode/100 == 3 {
		got = resp.Header.Get("Location")
	}
	if resp.StatusCode != status || !strings.Contains(got, want) {
		e.t.Errorf("%s %s%s: %d %q (Location %q), want %d with %q", method, host, path, resp.StatusCode, body, resp.Header.Get("Location"), status, want)
	}
	return resp
}

func (e *webEnv) putPage(path, body, acl string) {
	e.t.Helper()
	hdr := map[string]string{"Content-Type": "text/html"}
	if acl != "" {
		hdr["x-amz-acl"] = acl
	}
	e.want(testAK, testSK, "PUT", path, []byte(body), hdr, 200, "")
}

const siteConfig = `<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
<IndexDocument><Suffix>index.html</Suffix></IndexDocument>
<ErrorDocument><Key>404.html</Key></ErrorDocument>
<RoutingRules>
<RoutingRule><Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith>new/</ReplaceKeyPrefixWith><HttpRedirectCode>302</HttpRedirectCode></Redirect></RoutingRule>
<RoutingRule><Condition><KeyPrefixEquals>img/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><ReplaceKeyWith>img/default.png</ReplaceKeyWith></Redirect></RoutingRule>
</RoutingRules></WebsiteConfiguration>`

// TestWebsiteEndpoint: a bucket served as a website on <bucket>.web.test:
// index documents, the error document, redirects, RedirectAllRequestsTo,
// private objects refused, HEAD, 405, HTML errors, and no S3 API there;
// on both stores.
func TestWebsiteEndpoint(t *testing.T) { eachStore(t, testWebsiteEndpoint) }

func testWebsiteEndpoint(t *testing.T, open storeOpener) {
	e := newWebEnv(t, open, &order.Order{})
	e.want(testAK, testSK, "PUT", "/site", nil, map[string]string{"x-amz-object-ownership": "ObjectWriter"}, 200, "")
	e.putPage("/site/index.html", "home page", "public-read")
	e.putPage("/site/404.html", "custom error page", "public-read")
	e.putPage("/site/docs/index.html", "docs index", "public-read")
	e.putPage("/site/page.html", "a page", "public-read")
	e.putPage("/site/private.html", "secret", "")
	const host = "site.web.test"

	e.wantPage("GET", host, "/", 404, "NoSuchWebsiteConfiguration")
	e.ok("PUT", "/site?website", []byte(siteConfig))

	resp := e.wantPage("GET", host, "/", 200, "home page")
	if ct := resp.Header.Get("Content-Type"); ct != "text/html" {
		t.Errorf("index Content-Type %q", ct)
	}
	e.wantPage("GET", host, "/docs/", 200, "docs index")
	e.wantPage("GET", host, "/docs", 302, "/docs/")
	e.wantPage("GET", host, "/page.html", 200, "a page")
	e.wantPage("GET", host, "/page.html?versionId=x&response-content-type=a/b", 200, "a page")
	resp = e.wantPage("HEAD", host, "/page.html", 200, "")
	if resp.ContentLength != int64(len("a page")) {
		t.Errorf("HEAD Content-Length %d", resp.ContentLength)
	}
	resp = e.wantPage("GET", "SITE.web.test:80", "/page.html", 200, "a page")

	// Conditional and range requests, as on GetObject; bad paths refused.
	req, _ := http.NewRequest("GET", e.srv.URL+"/page.html", nil)
	req.Host = host
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusNotModified {
		t.Errorf("conditional GET: %v %v", r, err)
	} else {
		r.Body.Close()
	}
	req.Header.Del("If-None-Match")
	req.Header.Set("Range", "bytes=2-")
	if r, err := http.DefaultClient.Do(req); err != nil || r.StatusCode != http.StatusPartialContent {
		t.Errorf("range GET: %v %v", r, err)
	} else if b, _ := io.ReadAll(r.Body); string(b) != "page" {
		t.Errorf("range GET body %q", b)
	}
	e.wantPage("GET", host, "/%FF.html", 400, "InvalidURI")
	e.wantPage("GET", host, "/"+strings.Repeat("k", 2000), 403, "custom error page")

	// Private, and missing while the bucket is not listable: 403 with the
	// error document.
	e.wantPage("GET", host, "/private.html", 403, "custom error page")
	e.wantPage("HEAD", host, "/private.html", 403, "")
	e.wantPage("GET", host, "/missing.html", 403, "custom error page")
	e.wantPage("GET", host, "/old/a%20b.html", 302, "http://"+host+"/new/a%20b.html")

	// Listable: missing keys are 404, and a 404 rule applies.
	e.want(testAK, testSK, "PUT", "/site?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 200, "")
	e.wantPage("GET", host, "/missing.html", 404, "custom error page")
	e.wantPage("GET", host, "/img/none.png", 301, "http://"+host+"/img/default.png")
	e.wantPage("GET", host, "/private.html", 403, "custom error page")

	// Only GET and HEAD; the S3 API is not reachable on the website host.
	resp = e.wantPage("POST", host, "/", 405, "MethodNotAllowed")
	if resp.Header.Get("Allow") != "GET, HEAD" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("405 headers %v", resp.Header)
	}
	e.wantPage("PUT", host, "/page.html", 405, "MethodNotAllowed")
	e.wantPage("DELETE", host, "/page.html", 405, "MethodNotAllowed")
	e.wantPage("GET", host, "/?acl", 200, "home page")
	e.wantPage("GET", host, "/?website", 200, "home page")

	// CORS: the bucket's rules apply to website requests and preflights.
	cors := []byte(`<CORSConfiguration><CORSRule><AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>`)
	sum := md5.Sum(cors)
	e.want(testAK, testSK, "PUT", "/site?cors", cors, map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}, 200, "")
	for _, c := range []struct {
		method, origin string
		status         int
		allowed        bool
	}{
		{"GET", "https://app.example", 200, true},
		{"GET", "https://evil.example", 200, false},
		{"OPTIONS", "https://app.example", 200, true},
		{"OPTIONS", "https://evil.example", 403, false},
	} {
		req, _ := http.NewRequest(c.method, e.srv.URL+"/page.html", nil)
		req.Host = host
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != c.status || (r.Header.Get("Access-Control-Allow-Origin") == c.origin) != c.allowed {
			t.Errorf("%s from %s: %d %v", c.method, c.origin, r.StatusCode, r.Header)
		}
	}

	// Without an error document: S3's HTML error page.
	e.ok("PUT", "/site?website", []byte(`<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument></WebsiteConfiguration>`))
	resp = e.wantPage("GET", host, "/missing.html", 404, "<li>Code: NoSuchKey</li>")
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		t.Errorf("error page Content-Type %q", resp.Header.Get("Content-Type"))
	}
	e.wantPage("GET", host, "/private.html", 403, "<li>Code: AccessDenied</li>")
	e.wantPage("GET", host, "/empty/", 404, "<li>Key: empty/index.html</li>")

	// An error document that is itself private.
	e.ok("PUT", "/site?website", []byte(`<WebsiteConfiguration><IndexDocument><Suffix>index.html</Suffix></IndexDocument><ErrorDocument><Key>private.html</Key></ErrorDocument></WebsiteConfiguration>`))
	_, body := e.web("GET", host, "/missing.html")
	if strings.Contains(body, "secret") || !strings.Contains(body, "An Error Occurred While Attempting to Retrieve a Custom Error Document") {
		t.Errorf("private error document: %s", body)
	}

	// RedirectAllRequestsTo.
	e.ok("PUT", "/moved", nil)
	e.ok("PUT", "/moved?website", []byte(`<WebsiteConfiguration><RedirectAllRequestsTo><HostName>example.com</HostName><Protocol>https</Protocol></RedirectAllRequestsTo></WebsiteConfiguration>`))
	e.wantPage("GET", "moved.web.test", "/a/b.html?q=1", 301, "https://example.com/a/b.html")

	// Absent bucket; the S3 API still answers on the API host.
	e.wantPage("GET", "absent.web.test", "/", 404, "NoSuchBucket")
	if got := e.ok("GET", "/site/page.html", nil); string(got) != "a page" {
		t.Errorf("S3 GetObject = %q", got)
	}
}

// TestWebsiteBlockedOrder: an order whose public access is blocked serves
// no website.
func TestWebsiteBlockedOrder(t *testing.T) {
	e := newWebEnv(t, openEmbedded, &order.Order{BlockPublic: true})
	e.want(testAK, testSK, "PUT", "/site", nil, map[string]string{"x-amz-object-ownership": "ObjectWriter"}, 200, "")
	e.ok("PUT", "/site?website", []byte(siteConfig))
	e.ok("PUT", "/site/index.html", []byte("home"))
	e.wantPage("GET", "site.web.test", "/", 403, "AccessDenied")
}

// TestWebsiteHandler: Website(bucket) serves one bucket on any host, and a
// bucket policy granting s3:GetObject to everyone makes objects public.
func TestWebsiteHandler(t *testing.T) {
	e := newWebEnv(t, openEmbedded, &order.Order{})
	e.ok("PUT", "/site", nil)
	e.ok("PUT", "/site?website", []byte(siteConfig))
	e.ok("PUT", "/site/index.html", []byte("home"))
	e.ok("PUT", "/site/private/x.html", []byte("secret"))
	e.ok("PUT", "/site?policy", bucketPolicy("site", `{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::BKT/index.html"}`))
	srv := httptest.NewServer(e.h.Website("site"))
	defer srv.Close()
	get := func(path string) (int, string) {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/"); code != 200 || body != "home" {
		t.Errorf("GET / = %d %q", code, body)
	}
	if code, body := get("/private/x.html"); code != 403 || strings.Contains(body, "secret") {
		t.Errorf("GET private = %d %q", code, body)
	}
}

// TestWebsiteRedirectLocation: x-amz-website-redirect-location is
// validated, stored with the object (charged with its metadata), returned
// on GET and HEAD, set by PutObject, CreateMultipartUpload, POST and
// CopyObject (never copied from the source, as S3), and followed by the
// website endpoint with a 301.
func TestWebsiteRedirectLocation(t *testing.T) { eachStore(t, testWebsiteRedirectLocation) }

func testWebsiteRedirectLocation(t *testing.T, open storeOpener) {
	e := newWebEnv(t, open, &order.Order{})
	e.want(testAK, testSK, "PUT", "/site", nil, map[string]string{"x-amz-object-ownership": "ObjectWriter"}, 200, "")
	e.ok("PUT", "/site?website", []byte(siteConfig))
	e.putPage("/site/page.html", "a page", "public-read")
	const host = "site.web.test"
	const hdrName = "X-Amz-Website-Redirect-Location"
	redirectOf := func(path string) string {
		t.Helper()
		resp, body := e.do(testAK, testSK, "HEAD", path, nil, nil)
		if resp.StatusCode != 200 {
			t.Fatalf("HEAD %s: %d %s", path, resp.StatusCode, body)
		}
		get, _ := e.do(testAK, testSK, "GET", path, nil, nil)
		if get.Header.Get(hdrName) != resp.Header.Get(hdrName) {
			t.Errorf("GET %s: %q, HEAD: %q", path, get.Header.Get(hdrName), resp.Header.Get(hdrName))
		}
		return resp.Header.Get(hdrName)
	}
	put := func(path, loc, acl string, status int, code string) {
		t.Helper()
		e.want(testAK, testSK, "PUT", path, []byte("moved"), map[string]string{hdrName: loc, "x-amz-acl": acl}, status, code)
	}

	// Validation, as S3.
	for _, bad := range []string{"page.html", "ftp://example.com/", "javascript:alert(1)", "/" + strings.Repeat("x", 2048)} {
		put("/site/bad", bad, "private", 400, "InvalidRedirectLocation")
		e.want(testAK, testSK, "POST", "/site/bad?uploads", nil, map[string]string{hdrName: bad}, 400, "InvalidRedirectLocation")
		e.want(testAK, testSK, "PUT", "/site/bad", nil, map[string]string{hdrName: bad, "x-amz-copy-source": "/site/page.html"}, 400, "InvalidRedirectLocation")
	}
	e.want(testAK, testSK, "HEAD", "/site/bad", nil, nil, 404, "")

	// Stored, returned, followed by the website (a key or a URL).
	put("/site/old.html", "/page.html", "public-read", 200, "")
	put("/site/away.html", "https://example.com/else?x=1", "public-read", 200, "")
	put("/site/hidden.html", "/page.html", "private", 200, "")
	if got := redirectOf("/site/old.html"); got != "/page.html" {
		t.Errorf("HEAD: redirect %q", got)
	}
	e.wantPage("GET", host, "/old.html", 301, "/page.html")
	e.wantPage("HEAD", host, "/old.html", 301, "/page.html")
	e.wantPage("GET", host, "/away.html", 301, "https://example.com/else?x=1")
	e.wantPage("GET", host, "/hidden.html", 403, "AccessDenied") // private: not followed
	e.wantPage("GET", host, "/page.html", 200, "a page")

	// Charged with the object's metadata where the store charges it.
	if store.ChargesObjectMetadata(e.st) {
		before := e.used()
		put("/site/old.html", "/page.html"+strings.Repeat("x", 1000), "public-read", 200, "")
		if d := e.used() - before; d != 1000 {
			t.Errorf("a 1000 bytes longer redirect location costs %d bytes more", d)
		}
		put("/site/long", "/"+strings.Repeat("x", 2047), "private", 200, "") // 2 KB: the limit
		put("/site/old.html", "/page.html", "public-read", 200, "")
	}

	// Changing the object's ACL or tags keeps it (upstream, tags cannot
	// change: docs/upstream.md).
	e.want(testAK, testSK, "PUT", "/site/old.html?acl", nil, map[string]string{"x-amz-acl": "private"}, 200, "")
	e.want(testAK, testSK, "PUT", "/site/old.html?acl", nil, map[string]string{"x-amz-acl": "public-read"}, 200, "")
	if _, up := e.st.(*upstream.Store); !up {
		tagging := []byte(`<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>`)
		e.want(testAK, testSK, "PUT", "/site/old.html?tagging", tagging, map[string]string{"Content-MD5": md5b64(tagging)}, 200, "")
	}
	if got := redirectOf("/site/old.html"); got != "/page.html" {
		t.Errorf("after PutObjectAcl and PutObjectTagging: redirect %q", got)
	}

	// CopyObject: the request's location, never the source's.
	e.want(testAK, testSK, "PUT", "/site/c1", nil, map[string]string{"x-amz-copy-source": "/site/old.html"}, 200, "")
	e.want(testAK, testSK, "PUT", "/site/c2", nil, map[string]string{"x-amz-copy-source": "/site/old.html", "x-amz-metadata-directive": "REPLACE"}, 200, "")
	e.want(testAK, testSK, "PUT", "/site/c3", nil, map[string]string{"x-amz-copy-source": "/site/page.html", hdrName: "/c3"}, 200, "")
	e.want(testAK, testSK, "PUT", "/site/c4", nil, map[string]string{"x-amz-copy-source": "/site/page.html", hdrName: "/c4", "x-amz-metadata-directive": "REPLACE"}, 200, "")
	// A copy onto itself may change only the location.
	e.want(testAK, testSK, "PUT", "/site/c1", nil, map[string]string{"x-amz-copy-source": "/site/c1", hdrName: "/self"}, 200, "")
	for path, want := range map[string]string{"/site/c1": "/self", "/site/c2": "", "/site/c3": "/c3", "/site/c4": "/c4"} {
		if got := redirectOf(path); got != want {
			t.Errorf("%s: redirect %q, want %q", path, got, want)
		}
	}

	// CreateMultipartUpload carries it to the object.
	var created struct{ UploadId string }
	if err := xml.Unmarshal(e.want(testAK, testSK, "POST", "/site/mp?uploads", nil, map[string]string{hdrName: "/mp-target"}, 200, ""), &created); err != nil {
		t.Fatal(err)
	}
	resp, _ := e.do(testAK, testSK, "PUT", "/site/mp?partNumber=1&uploadId="+created.UploadId, []byte("multi"), nil)
	complete := fmt.Sprintf(`<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag></Part></CompleteMultipartUpload>`, resp.Header.Get("ETag"))
	e.want(testAK, testSK, "POST", "/site/mp?uploadId="+created.UploadId, []byte(complete), nil, 200, "")
	if got := redirectOf("/site/mp"); got != "/mp-target" {
		t.Errorf("multipart: redirect %q", got)
	}

	// POST: the form field, allowed by the policy.
	fields := e.signed(testAK, testSK, []string{`{"key": "form"}`, `{"x-amz-website-redirect-location": "/from-form"}`},
		formField{"key", "form"}, formField{"x-amz-website-redirect-location", "/from-form"})
	if resp, body := e.post("/site", fields, "f", []byte("x")); resp.StatusCode != 204 {
		t.Fatalf("POST: %d %s", resp.StatusCode, body)
	}
	if got := redirectOf("/site/form"); got != "/from-form" {
		t.Errorf("POST: redirect %q", got)
	}
	fields = e.signed(testAK, testSK, []string{`{"key": "form2"}`, `["starts-with", "$x-amz-website-redirect-location", ""]`},
		formField{"key", "form2"}, formField{"x-amz-website-redirect-location", "nowhere"})
	resp, body := e.post("/site", fields, "f", []byte("x"))
	wantError(t, resp, body, 400, "InvalidRedirectLocation")
}
