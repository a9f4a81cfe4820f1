package console

import (
	"bytes"
	"context"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lambda/storagecli/gateway/order"
)

func TestSignIn(t *testing.T) {
	for _, tlsServer := range []bool{false, true} {
		e := newEnv(t, tlsServer)
		tests := []struct {
			name     string
			ak, sk   string
			hdr      map[string]string
			status   int
			contains string
		}{
			{"wrong secret", rwKey, "nope", nil, http.StatusUnauthorized, msgWrongKeys},
			{"unknown key", "nobody", rwSecret, nil, http.StatusUnauthorized, msgWrongKeys},
			{"empty secret", rwKey, "", nil, http.StatusBadRequest, msgBadForm},
			{"cross-site origin", rwKey, rwSecret, map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden, msgCrossSite},
			{"cross-site fetch", rwKey, rwSecret, map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden, msgCrossSite},
			{"no origin (not a browser)", rwKey, rwSecret, map[string]string{"Origin": ""}, http.StatusSeeOther, ""},
			{"right", rwKey, rwSecret, nil, http.StatusSeeOther, ""},
			{"read-only key", roKey, roSecret, nil, http.StatusSeeOther, ""},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("tls=%v/%s", tlsServer, tt.name), func(t *testing.T) {
				c := e.client()
				e.t = t
				form := "access_key=" + tt.ak + "&secret_key=" + tt.sk
				status, body, hdr := c.do(http.MethodPost, "/_console/signin", "application/x-www-form-urlencoded", form, tt.hdr)
				if status != tt.status || !strings.Contains(body, template.HTMLEscapeString(tt.contains)) {
					t.Fatalf("%d %q, want %d with %q", status, body, tt.status, tt.contains)
				}
				ck := sessionCookie(hdr)
				if tt.status != http.StatusSeeOther {
					if ck != nil {
						t.Errorf("a refused sign-in set a cookie: %v", ck)
					}
					return
				}
				if ck == nil || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/_console/" || ck.Secure != tlsServer ||
					ck.MaxAge != int(DefaultSessionTTL/time.Second) {
					t.Errorf("cookie %+v (TLS %v)", ck, tlsServer)
				}
				if loc := hdr.Get("Location"); loc != "/_console/" {
					t.Errorf("Location %q", loc)
				}
				if tt.sk != "" && strings.Contains(body, tt.sk) {
					t.Error("the secret is in the answer")
				}
			})
		}
	}
}

func TestSessionFixation(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	planted := "planted-session-id-0123456789012345678901234"
	c.hc.Jar.SetCookies(mustParse(t, e.srv.URL+"/_console/"), []*http.Cookie{{Name: cookieName, Value: planted, Path: "/_console/"}})
	_, _, hdr := c.signIn(rwKey, rwSecret)
	ck := sessionCookie(hdr)
	if ck == nil || ck.Value == planted {
		t.Fatalf("sign-in kept the planted id: %v", ck)
	}
	if _, ok := e.con.sessions.get(planted); ok {
		t.Fatal("the planted id names a session")
	}
	// Signing in again replaces the session: the old id ends.
	old := ck.Value
	_, _, hdr = c.signIn(rwKey, rwSecret)
	if ck := sessionCookie(hdr); ck == nil || ck.Value == old {
		t.Fatal("a second sign-in reused the session id")
	}
	if _, ok := e.con.sessions.get(old); ok {
		t.Fatal("the replaced session is still alive")
	}
}

func TestBruteForceSlowed(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	for i := range DefaultFailureBurst {
		if status, _, _ := c.signIn(rwKey, fmt.Sprint("guess-", i)); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i, status)
		}
	}
	// The next attempt is not even tried, right secret or not.
	status, body, hdr := c.signIn(rwKey, rwSecret)
	if status != http.StatusTooManyRequests || hdr.Get("Retry-After") != "20" || !strings.Contains(body, "Too many failed sign-ins") {
		t.Fatalf("after %d failures: %d Retry-After %q", DefaultFailureBurst, status, hdr.Get("Retry-After"))
	}
	e.clock.add(DefaultFailureEvery)
	if status, _, _ := c.signIn(rwKey, rwSecret); status != http.StatusSeeOther {
		t.Fatalf("after waiting: %d", status)
	}
}

// endpoints lists every API endpoint with a harmless request.
var endpoints = []struct{ method, path, body string }{
	{"GET", "session", ""}, {"POST", "signout", "{}"}, {"GET", "order", ""}, {"GET", "buckets", ""},
	{"POST", "bucket/create", `{"bucket":"b1"}`}, {"POST", "bucket/delete", `{"bucket":"b1"}`},
	{"GET", "objects?bucket=b1", ""}, {"GET", "object?bucket=b1&key=k", ""}, {"GET", "count?bucket=b1&prefix=a/", ""},
	{"POST", "delete", `{"bucket":"b1","keys":["k"]}`}, {"POST", "delete-prefix", `{"bucket":"b1","prefix":"a/"}`},
	{"POST", "folder", `{"bucket":"b1","prefix":"a/"}`}, {"POST", "upload", `{"bucket":"b1","key":"k","size":1}`},
	{"POST", "multipart/create", `{"bucket":"b1","key":"k","size":1}`},
	{"POST", "multipart/urls", `{"bucket":"b1","key":"k","uploadId":"u","parts":[1]}`},
	{"POST", "multipart/complete", `{"bucket":"b1","key":"k","uploadId":"u"}`},
	{"POST", "multipart/abort", `{"bucket":"b1","key":"k","uploadId":"u"}`},
	{"POST", "link", `{"bucket":"b1","key":"k"}`},
}

func TestAPIRefusesWithoutSessionOrToken(t *testing.T) {
	e := newEnv(t, false)
	anon := e.client()
	for _, ep := range endpoints {
		if status, _, _ := anon.do(ep.method, "/_console/api/"+ep.path, "application/json", ep.body, nil); status != http.StatusUnauthorized {
			t.Errorf("%s %s without a session: %d, want 401", ep.method, ep.path, status)
		}
	}
	if status, _, hdr := anon.do("GET", "/_console/", "", "", nil); status != http.StatusSeeOther || hdr.Get("Location") != "/_console/signin" {
		t.Errorf("page without a session: %d %q", status, hdr.Get("Location"))
	}
	c := e.signedIn(rwKey, rwSecret)
	for _, ep := range endpoints {
		if ep.method != "POST" {
			continue
		}
		for name, hdr := range map[string]map[string]string{
			"no token":       {"X-CSRF-Token": ""},
			"wrong token":    {"X-CSRF-Token": "x" + c.csrf},
			"foreign origin": {"Origin": "http://evil.example"},
			"cross-site":     {"Sec-Fetch-Site": "cross-site"},
			"form enctype":   {"Content-Type": "text/plain", "X-CSRF-Token": ""},
		} {
			if status, body, _ := c.do("POST", "/_console/api/"+ep.path, "application/json", ep.body, hdr); status != http.StatusForbidden || !strings.Contains(body, "InvalidCSRFToken") {
				t.Errorf("%s %s, %s: %d %s, want 403 InvalidCSRFToken", ep.method, ep.path, name, status, body)
			}
		}
	}
	if _, err := e.gw.Order().Key(rwKey); !err {
		t.Fatal("key gone")
	}
	var buckets struct{ Buckets []bucketInfo }
	c.getJSON("/_console/api/buckets", &buckets)
	if len(buckets.Buckets) != 0 {
		t.Errorf("a refused request created a bucket: %v", buckets.Buckets)
	}
	// Wrong methods and unknown endpoints.
	if status, _, _ := c.do("GET", "/_console/api/bucket/create", "", "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("GET of a POST endpoint: %d", status)
	}
	if status, _, _ := c.do("GET", "/_console/api/nope", "", "", nil); status != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d", status)
	}
}

// put sends body to a presigned URL and returns the status and answer.
func put(t *testing.T, hc *http.Client, url string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, url, bytes.NewReader(body))
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestAPIFlow(t *testing.T) {
	e := newEnv(t, false)
	c := e.signedIn(rwKey, rwSecret)
	ok := func(endpoint string, in any) map[string]any {
		t.Helper()
		status, out := c.post(endpoint, in)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %v", endpoint, status, out)
		}
		return out
	}
	ok("bucket/create", target{Bucket: "data"})
	ok("folder", target{Bucket: "data", Prefix: "docs/"})

	// A single upload through a presigned URL.
	up := ok("upload", uploadRequest{Bucket: "data", Key: "docs/a.txt", Size: 5})
	if status, body, _ := put(t, e.srv.Client(), up["url"].(string), []byte("hello")); status != http.StatusOK {
		t.Fatalf("presigned PUT: %d %s", status, body)
	}
	// A multipart upload: two parts.
	mp := ok("multipart/create", uploadRequest{Bucket: "data", Key: "docs/big.bin", Size: 6 << 20, ContentType: "application/x-test"})
	id := mp["uploadId"].(string)
	urls := ok("multipart/urls", map[string]any{"bucket": "data", "key": "docs/big.bin", "uploadId": id, "parts": []int{1, 2}})["urls"].(map[string]any)
	var done []map[string]any
	for i, n := range []string{"1", "2"} {
		size := 5 << 20
		if i == 1 {
			size = 1 << 20
		}
		status, body, hdr := put(t, e.srv.Client(), urls[n].(string), bytes.Repeat([]byte{byte('a' + i)}, size))
		if status != http.StatusOK {
			t.Fatalf("part %s: %d %s", n, status, body)
		}
		done = append(done, map[string]any{"partNumber": i + 1, "etag": hdr.Get("ETag")})
	}
	ok("multipart/complete", map[string]any{"bucket": "data", "key": "docs/big.bin", "uploadId": id, "done": done})

	var l listing
	c.getJSON("/_console/api/objects?bucket=data&prefix=docs/", &l)
	if len(l.Objects) != 3 || l.Objects[1].Key != "docs/a.txt" || l.Objects[2].Size != 6<<20 {
		t.Fatalf("listing %+v", l)
	}
	c.getJSON("/_console/api/objects?bucket=data", &l)
	if len(l.Folders) != 1 || l.Folders[0] != "docs/" || len(l.Objects) != 0 {
		t.Fatalf("root listing %+v", l)
	}
	// Pagination.
	c.getJSON("/_console/api/objects?bucket=data&prefix=docs/&max=2", &l)
	if len(l.Objects) != 2 || l.Next == "" {
		t.Fatalf("first page %+v", l)
	}
	next := l.Next
	l = listing{}
	c.getJSON("/_console/api/objects?bucket=data&prefix=docs/&max=2&token="+next, &l)
	if len(l.Objects) != 1 || l.Next != "" {
		t.Fatalf("second page %+v", l)
	}
	tag := types.Tag{Key: aws.String("project"), Value: aws.String("console")}
	if _, err := newClient(e.gw, "us-east-1", rwKey, rwSecret).PutObjectTagging(context.Background(), &s3.PutObjectTaggingInput{
		Bucket: aws.String("data"), Key: aws.String("docs/big.bin"), Tagging: &types.Tagging{TagSet: []types.Tag{tag}}}); err != nil {
		t.Fatal(err)
	}
	var d map[string]any
	c.getJSON("/_console/api/object?bucket=data&key=docs/big.bin", &d)
	if d["contentType"] != "application/x-test" || !strings.HasSuffix(d["etag"].(string), `-2"`) || d["size"].(float64) != 6<<20 ||
		fmt.Sprint(d["tags"]) != "map[project:console]" {
		t.Errorf("details %v", d)
	}

	// The order at a glance matches the gateway's accounting.
	var o orderInfo
	c.getJSON("/_console/api/order", &o)
	u := e.usage()
	if o.ID != "unit" || o.State != "active" || o.Used != u.Bytes || o.Objects != 3 || o.Capacity != 10<<20 || o.Expires == nil {
		t.Errorf("order %+v, usage %+v", o, u)
	}

	// Links: a download, a share link (clamped to the order's expiry).
	dl := ok("link", linkRequest{Bucket: "data", Key: "docs/a.txt"})
	resp, err := http.Get(dl["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hello" || !strings.Contains(resp.Header.Get("Content-Disposition"), `filename=a.txt`) {
		t.Errorf("download: %q %q", b, resp.Header.Get("Content-Disposition"))
	}
	sh := ok("link", linkRequest{Bucket: "data", Key: "docs/a.txt", Seconds: 7 * 86400})
	if !strings.Contains(sh["url"].(string), "X-Amz-Expires=1727") { // 48h to expiry
		t.Errorf("share link not clamped to the order's expiry (48h): %s", sh["url"])
	}
	for _, tt := range []struct {
		in     linkRequest
		status int
	}{
		{linkRequest{Bucket: "data", Key: "docs/a.txt", Seconds: 7*86400 + 1}, http.StatusBadRequest},
		{linkRequest{Bucket: "data", Key: "docs/a.txt", Seconds: -1}, http.StatusBadRequest},
		{linkRequest{Bucket: "data", Key: "docs/none"}, http.StatusNotFound},
		{linkRequest{Bucket: "nobucket", Key: "x"}, http.StatusNotFound},
	} {
		if status, out := c.post("link", tt.in); status != tt.status {
			t.Errorf("link %+v: %d %v, want %d", tt.in, status, out, tt.status)
		}
	}

	// Quota: an upload that cannot fit is refused before any byte moves.
	if status, out := c.post("upload", uploadRequest{Bucket: "data", Key: "huge", Size: 20 << 20}); status != http.StatusForbidden || out["code"] != "QuotaExceeded" {
		t.Errorf("upload over capacity: %d %v", status, out)
	}
	// Errors of the gateway come through with their S3 codes.
	for _, tt := range []struct {
		endpoint string
		in       any
		status   int
		code     string
	}{
		{"bucket/create", target{Bucket: "Bad_Name"}, 400, "InvalidBucketName"},
		{"bucket/delete", target{Bucket: "nobucket"}, 404, "NoSuchBucket"},
		{"bucket/delete", target{Bucket: "data"}, 409, "BucketNotEmpty"},
		{"delete", deleteRequest{Bucket: "data"}, 400, "InvalidRequest"},
		{"delete-prefix", target{Bucket: "data", Prefix: "docs"}, 400, "InvalidRequest"},
		{"folder", target{Bucket: "data", Prefix: "/"}, 400, "InvalidRequest"},
		{"multipart/urls", map[string]any{"bucket": "data", "key": "k", "uploadId": "u", "parts": []int{0}}, 400, "InvalidRequest"},
		{"multipart/complete", map[string]any{"bucket": "data", "key": "k", "uploadId": "nope", "done": []any{map[string]any{"partNumber": 1, "etag": "x"}}}, 404, "NoSuchUpload"},
	} {
		if status, out := c.post(tt.endpoint, tt.in); status != tt.status || out["code"] != tt.code {
			t.Errorf("%s %v: %d %v, want %d %s", tt.endpoint, tt.in, status, out, tt.status, tt.code)
		}
	}
	if status, body, _ := c.do("POST", "/_console/api/bucket/create", "application/json", `{"bucket":"x","extra":1}`, nil); status != 400 || !strings.Contains(body, "InvalidRequest") {
		t.Errorf("unknown JSON field: %d %s", status, body)
	}

	// Count and delete a folder; then one object; then the bucket.
	var cnt struct {
		Count int
		More  bool
	}
	c.getJSON("/_console/api/count?bucket=data&prefix=docs/", &cnt)
	if cnt.Count != 3 || cnt.More {
		t.Errorf("count %+v", cnt)
	}
	if out := ok("delete-prefix", target{Bucket: "data", Prefix: "docs/"}); out["deleted"].(float64) != 3 {
		t.Errorf("delete-prefix %v", out)
	}
	ok("folder", target{Bucket: "data", Prefix: "x/"})
	ok("delete", deleteRequest{Bucket: "data", Keys: []string{"x/"}})
	ok("bucket/delete", target{Bucket: "data"})
	if u := e.usage(); u.Objects != 0 {
		t.Errorf("%d objects left", u.Objects)
	}

	// Sign out: the session ends.
	ok("signout", struct{}{})
	if status, _, _ := c.do("GET", "/_console/api/session", "", "", nil); status != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d", status)
	}
}

func TestAPIAbortMultipart(t *testing.T) {
	e := newEnv(t, false)
	c := e.signedIn(rwKey, rwSecret)
	c.post("bucket/create", target{Bucket: "data"})
	_, mp := c.post("multipart/create", uploadRequest{Bucket: "data", Key: "k", Size: 1})
	id := mp["uploadId"].(string)
	if status, out := c.post("multipart/abort", map[string]any{"bucket": "data", "key": "k", "uploadId": id}); status != 200 {
		t.Fatalf("abort: %d %v", status, out)
	}
	if status, out := c.post("multipart/complete", map[string]any{"bucket": "data", "key": "k", "uploadId": id,
		"done": []any{map[string]any{"partNumber": 1, "etag": "x"}}}); status != 404 || out["code"] != "NoSuchUpload" {
		t.Errorf("complete after abort: %d %v", status, out)
	}
}

func TestReadOnlyAndExpired(t *testing.T) {
	e := newEnv(t, false)
	rw := e.signedIn(rwKey, rwSecret)
	rw.post("bucket/create", target{Bucket: "data"})
	rw.post("folder", target{Bucket: "data", Prefix: "keep/"})
	writes := []struct {
		endpoint string
		in       any
	}{
		{"bucket/create", target{Bucket: "other"}},
		{"bucket/delete", target{Bucket: "data"}},
		{"folder", target{Bucket: "data", Prefix: "new/"}},
		{"delete", deleteRequest{Bucket: "data", Keys: []string{"keep/"}}},
		{"delete-prefix", target{Bucket: "data", Prefix: "keep/"}},
		{"multipart/create", uploadRequest{Bucket: "data", Key: "k", Size: 1}},
	}
	check := func(t *testing.T, c *client, wantMsg string) {
		var s sessionInfo
		c.getJSON("/_console/api/session", &s)
		if !s.ReadOnly {
			t.Error("the session is not read-only")
		}
		for _, w := range writes {
			if status, out := c.post(w.endpoint, w.in); status != 403 || out["code"] != "AccessDenied" || !strings.Contains(fmt.Sprint(out["message"]), wantMsg) {
				t.Errorf("%s: %d %v, want 403 AccessDenied %q", w.endpoint, status, out, wantMsg)
			}
		}
		// A presigned PUT is minted but the gateway refuses it.
		_, up := c.post("upload", uploadRequest{Bucket: "data", Key: "forged", Size: 1})
		if _, ok := up["url"].(string); !ok {
			t.Fatalf("upload: %v", up)
		}
		if status, body, _ := put(t, e.srv.Client(), up["url"].(string), []byte("x")); status != 403 || !strings.Contains(body, "AccessDenied") {
			t.Errorf("presigned PUT: %d %s", status, body)
		}
		// Reads work.
		var l listing
		c.getJSON("/_console/api/objects?bucket=data", &l)
		if len(l.Folders) != 1 {
			t.Errorf("listing %+v", l)
		}
	}
	t.Run("read-only key", func(t *testing.T) {
		e.t = t
		check(t, e.signedIn(roKey, roSecret), "is read-only")
	})
	t.Run("expired order", func(t *testing.T) {
		e.t = t
		o := testOrder()
		o.Expires, o.Grace = time.Now().Add(-time.Hour), 48*time.Hour
		if err := e.gw.SetOrder(o); err != nil {
			t.Fatal(err)
		}
		check(t, rw, "expired")
		var oi orderInfo
		rw.getJSON("/_console/api/order", &oi)
		if oi.State != order.ReadOnly.String() {
			t.Errorf("state %q", oi.State)
		}
		if status, out := rw.post("link", linkRequest{Bucket: "data", Key: "keep/", Seconds: 60}); status != 403 || !strings.Contains(fmt.Sprint(out["message"]), "cannot outlive") {
			t.Errorf("share link of an expired order: %d %v", status, out)
		}
		if status, out := rw.post("link", linkRequest{Bucket: "data", Key: "keep/"}); status != 200 {
			t.Errorf("download in the grace period: %d %v", status, out)
		}
	})
	t.Run("closed order", func(t *testing.T) {
		e.t = t
		o := testOrder()
		o.Expires = time.Now().Add(-time.Hour)
		if err := e.gw.SetOrder(o); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := rw.do("GET", "/_console/api/order", "", "", nil); status != 403 {
			t.Errorf("order view of a closed order: %d", status)
		}
		status, body, _ := e.client().signIn(rwKey, rwSecret)
		if status != 403 || !strings.Contains(body, "it is closed") {
			t.Errorf("sign-in to a closed order: %d %s", status, body)
		}
	})
	t.Run("rotated key", func(t *testing.T) {
		e.t = t
		o := testOrder()
		o.Keys[0].SecretKey = "rotated-secret-0123456789"
		if err := e.gw.SetOrder(o); err != nil {
			t.Fatal(err)
		}
		if status, _, _ := rw.do("GET", "/_console/api/session", "", "", nil); status != 401 {
			t.Errorf("session of a rotated key: %d, want 401", status)
		}
	})
}

func TestSecretNeverSent(t *testing.T) {
	e := newEnv(t, false)
	c := e.signedIn(rwKey, rwSecret)
	c.post("bucket/create", target{Bucket: "data"})
	c.post("folder", target{Bucket: "data", Prefix: "f/"})
	var all strings.Builder
	for _, path := range []string{"/_console/", "/_console/signin", "/_console/assets/app.js", "/_console/assets/app.css"} {
		_, body, hdr := c.do("GET", path, "", "", nil)
		fmt.Fprint(&all, body, hdr)
	}
	for _, ep := range endpoints {
		if ep.path == "signout" {
			continue
		}
		_, body, hdr := c.do(ep.method, "/_console/api/"+strings.ReplaceAll(ep.path, "b1", "data"), "application/json", strings.ReplaceAll(ep.body, "b1", "data"), nil)
		fmt.Fprint(&all, body, hdr)
	}
	_, body, hdr := e.client().signIn(rwKey, rwSecret+"x")
	fmt.Fprint(&all, body, hdr)
	for what, s := range map[string]string{"answers": all.String(), "log": e.logs.String()} {
		if strings.Contains(s, rwSecret) {
			t.Errorf("the secret is in the %s", what)
		}
	}
	if !strings.Contains(e.logs.String(), "console: signed in") || !strings.Contains(all.String(), "X-Amz-Signature") {
		t.Error("the test saw neither the log nor the presigned URLs")
	}
}

func TestPageWeight(t *testing.T) {
	entries, err := assets.ReadDir("assets")
	if err != nil {
		t.Fatal(err)
	}
	var total int
	for _, e := range entries {
		b, _ := assets.ReadFile("assets/" + e.Name())
		total += len(b)
		if bytes.Contains(b, []byte("http://")) || bytes.Contains(b, []byte("https://")) {
			t.Errorf("%s refers to an external URL", e.Name())
		}
	}
	if total > 100<<10 {
		t.Errorf("assets weigh %d bytes, over 100 KiB", total)
	}
	t.Logf("assets: %d bytes", total)
}

// TestPresignedOddKeys checks that presigned uploads and downloads work
// for keys that need escaping in a URL.
func TestPresignedOddKeys(t *testing.T) {
	e := newEnv(t, false)
	c := e.signedIn(rwKey, rwSecret)
	c.post("bucket/create", target{Bucket: "data"})
	for _, key := range []string{"a b.txt", "plus+and&amp=.txt", "q?x=1#frag", "ünïcødé/文件.txt", "percent%20.txt", "semi;colon,(paren)!*'~.txt", "dir//double"} {
		t.Run(key, func(t *testing.T) {
			e.t = t
			status, up := c.post("upload", uploadRequest{Bucket: "data", Key: key, Size: int64(len(key))})
			if status != 200 {
				t.Fatalf("upload: %d %v", status, up)
			}
			if status, body, _ := put(t, e.srv.Client(), up["url"].(string), []byte(key)); status != 200 {
				t.Fatalf("presigned PUT: %d %s", status, body)
			}
			status, dl := c.post("link", linkRequest{Bucket: "data", Key: key})
			if status != 200 {
				t.Fatalf("link: %d %v", status, dl)
			}
			resp, err := e.srv.Client().Get(dl["url"].(string))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != key {
				t.Errorf("download: %d %q", resp.StatusCode, b)
			}
		})
	}
}

func TestAssets(t *testing.T) {
	e := newEnv(t, false)
	c := e.client()
	for _, tt := range []struct {
		path, contentType string
		status            int
	}{
		{"/_console/assets/app.js", "text/javascript; charset=utf-8", 200},
		{"/_console/assets/app.css", "text/css; charset=utf-8", 200},
		{"/_console/assets/", "", 404},
		{"/_console/assets/signin.html", "", 404},
		{"/_console/assets/index.html", "", 404},
		{"/_console/nope", "", 404},
		{"/_console", "", http.StatusMovedPermanently},
	} {
		status, _, hdr := c.do("GET", tt.path, "", "", nil)
		if status != tt.status || (tt.contentType != "" && hdr.Get("Content-Type") != tt.contentType) {
			t.Errorf("%s: %d %q, want %d %q", tt.path, status, hdr.Get("Content-Type"), tt.status, tt.contentType)
		}
		if tt.status != 200 {
			continue
		}
		if hdr.Get("ETag") == "" || hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", tt.path, hdr)
		}
		if status, _, _ := c.do("GET", tt.path, "", "", map[string]string{"If-None-Match": hdr.Get("ETag")}); status != http.StatusNotModified {
			t.Errorf("%s revalidated: %d, want 304", tt.path, status)
		}
	}
	if status, _, _ := c.do("POST", "/_console/assets/app.js", "", "", nil); status != http.StatusMethodNotAllowed {
		t.Errorf("POST of an asset: %d", status)
	}
}

// TestVersions checks that an object's details list its versions in a
// versioned bucket and that an older version can be downloaded.
func TestVersions(t *testing.T) {
	e := newEnv(t, false)
	c := e.signedIn(rwKey, rwSecret)
	c.post("bucket/create", target{Bucket: "data"})
	c.post("bucket/create", target{Bucket: "plain"})
	if _, err := newClient(e.gw, "us-east-1", rwKey, rwSecret).PutBucketVersioning(context.Background(), &s3.PutBucketVersioningInput{
		Bucket: aws.String("data"), VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	for _, b := range []string{"data", "plain"} {
		for _, body := range []string{"first", "second"} {
			_, up := c.post("upload", uploadRequest{Bucket: b, Key: "k", Size: int64(len(body))})
			if status, msg, _ := put(t, e.srv.Client(), up["url"].(string), []byte(body)); status != 200 {
				t.Fatalf("PUT: %d %s", status, msg)
			}
		}
	}
	var d struct {
		Versions []versionInfo
	}
	c.getJSON("/_console/api/object?bucket=plain&key=k", &d)
	if len(d.Versions) != 0 {
		t.Errorf("an unversioned bucket lists versions: %+v", d.Versions)
	}
	c.getJSON("/_console/api/object?bucket=data&key=k", &d)
	if len(d.Versions) != 2 || !d.Versions[0].Latest || d.Versions[1].Latest || d.Versions[1].Size != 5 {
		t.Fatalf("versions %+v", d.Versions)
	}
	status, l := c.post("link", linkRequest{Bucket: "data", Key: "k", VersionID: d.Versions[1].ID})
	if status != 200 {
		t.Fatalf("link: %d %v", status, l)
	}
	resp, err := http.Get(l["url"].(string))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "first" {
		t.Errorf("the older version reads %q", b)
	}
}
