package gateway_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/cors"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/embedded"
	"github.com/lambda/storagecli/gateway/store/upstream"
)

const appOrigin = "https://app.example"

// corsRules are the rules the CORS tests set.
var corsRules = []types.CORSRule{
	{ID: aws.String("app"), AllowedOrigins: []string{appOrigin}, AllowedMethods: []string{"GET", "PUT", "POST"},
		AllowedHeaders: []string{"Content-Type", "x-amz-*"}, ExposeHeaders: []string{"ETag", "x-amz-request-id"}, MaxAgeSeconds: aws.Int32(3000)},
	{AllowedOrigins: []string{"http://*.example.org"}, AllowedMethods: []string{"GET"}},
	{AllowedOrigins: []string{"*"}, AllowedMethods: []string{"HEAD"}},
}

func (e *testEnv) putCORS(bucket string, rules []types.CORSRule) {
	e.t.Helper()
	_, err := e.s3.PutBucketCors(context.Background(), &s3.PutBucketCorsInput{Bucket: aws.String(bucket),
		CORSConfiguration: &types.CORSConfiguration{CORSRules: rules}})
	if err != nil {
		e.t.Fatalf("PutBucketCors: %v", err)
	}
}

// TestCORSConfigurationSDK: PutBucketCors, GetBucketCors and
// DeleteBucketCors with aws-sdk-go-v2 (a CRC32, no Content-MD5) and
// minio-go (Content-MD5).
func TestCORSConfigurationSDK(t *testing.T) {
	eachStore(t, testCORSConfigurationSDK)
}

func testCORSConfigurationSDK(t *testing.T, open storeOpener) {
	e := corsEnv(t, open)
	ctx := context.Background()
	if _, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	_, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if apiCode(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors before any: %v", err)
	}
	e.putCORS("web", corsRules)
	out, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprintf("%+v", ruleStrings(out.CORSRules)), fmt.Sprintf("%+v", ruleStrings(corsRules)); got != want {
		t.Errorf("GetBucketCors =\n%s\nwant\n%s", got, want)
	}
	// Replaced by the next PUT, here from minio-go.
	if err := e.minio.SetBucketCors(ctx, "web", cors.NewConfig([]cors.Rule{{AllowedOrigin: []string{"*"}, AllowedMethod: []string{"GET"}}})); err != nil {
		t.Fatalf("minio-go SetBucketCors: %v", err)
	}
	mc, err := e.minio.GetBucketCors(ctx, "web")
	if err != nil || len(mc.CORSRules) != 1 || mc.CORSRules[0].AllowedMethod[0] != "GET" {
		t.Fatalf("minio-go GetBucketCors = %+v, %v", mc, err)
	}
	if _, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatalf("DeleteBucketCors without a configuration: %v", err)
	}
	if _, err = e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("web")}); apiCode(err) != "NoSuchCORSConfiguration" {
		t.Fatalf("GetBucketCors after delete: %v", err)
	}
	for name, err := range map[string]error{
		"GetBucketCors": func() error {
			_, err := e.s3.GetBucketCors(ctx, &s3.GetBucketCorsInput{Bucket: aws.String("nope")})
			return err
		}(),
		"PutBucketCors": func() error {
			_, err := e.s3.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("nope"),
				CORSConfiguration: &types.CORSConfiguration{CORSRules: corsRules}})
			return err
		}(),
		"DeleteBucketCors": func() error {
			_, err := e.s3.DeleteBucketCors(ctx, &s3.DeleteBucketCorsInput{Bucket: aws.String("nope")})
			return err
		}(),
	} {
		if apiCode(err) != "NoSuchBucket" {
			t.Errorf("%s on a missing bucket: %v, want NoSuchBucket", name, err)
		}
	}
}

// ruleStrings renders rules for comparison.
func ruleStrings(rules []types.CORSRule) []string {
	var out []string
	for _, r := range rules {
		out = append(out, fmt.Sprintf("%s %v %v %v %v %d", aws.ToString(r.ID), r.AllowedOrigins, r.AllowedMethods,
			r.AllowedHeaders, r.ExposeHeaders, aws.ToInt32(r.MaxAgeSeconds)))
	}
	return out
}

// TestPutBucketCorsRefusals: the raw requests S3 refuses.
func TestPutBucketCorsRefusals(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("web")
	doc := func(rule string) []byte {
		return []byte(`<CORSConfiguration><CORSRule>` + rule + `</CORSRule></CORSConfiguration>`)
	}
	good := doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`)
	md5of := func(b []byte) string { s := md5.Sum(b); return base64.StdEncoding.EncodeToString(s[:]) }
	big := append(append([]byte(`<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`),
		bytes.Repeat([]byte("<ID>x</ID>"), 7000)...), `</CORSRule></CORSConfiguration>`...)
	for _, c := range []struct {
		name       string
		body       []byte
		md5        string
		status     int
		code, text string
	}{
		{"no checksum", good, "", 400, "InvalidRequest", "Missing required header for this request: Content-MD5"},
		{"wrong Content-MD5", good, md5of([]byte("other")), 400, "BadDigest", ""},
		{"unsupported method", doc(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>`), "-", 400, "InvalidRequest",
			"Found unsupported HTTP method in CORS config. Unsupported method is PATCH"},
		{"two wildcards", doc(`<AllowedOrigin>*.*.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`), "-", 400, "InvalidRequest",
			`AllowedOrigin &#34;*.*.example&#34; can not have more than one wildcard.`},
		{"no origin", doc(`<AllowedMethod>GET</AllowedMethod>`), "-", 400, "MalformedXML", ""},
		{"over 64 KiB", big, "-", 400, "MaxMessageLengthExceeded", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			hdr := map[string]string{}
			switch c.md5 {
			case "-":
				hdr["Content-MD5"] = md5of(c.body)
			case "":
			default:
				hdr["Content-MD5"] = c.md5
			}
			resp, body := e.do("PUT", "/web?cors", c.body, hdr)
			wantError(t, resp, body, c.status, c.code)
			if !bytes.Contains(body, []byte(c.text)) {
				t.Errorf("message %s, want %q", body, c.text)
			}
		})
	}
	// Nothing was stored.
	if resp, body := e.do("GET", "/web?cors", nil, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GetBucketCors after refusals: %s %s", resp.Status, body)
	}
}

// preflightError is S3's error document for a refused preflight.
type preflightError struct {
	Code, Message, Method, ResourceType string
	RequestID                           string `xml:"RequestId"`
}

// corsEnv is an in-process gateway on the store open gives that also
// serves virtual-hosted requests (<bucket>.s3.test), with bucket "web"
// holding corsRules (and object a.txt) and bucket "plain" without a CORS
// configuration.
func corsEnv(t *testing.T, open storeOpener) *testEnv {
	t.Helper()
	e := envOn(t, open)
	e.mkBucket("web")
	e.mkBucket("plain")
	e.put("web", "a.txt", []byte("hello"))
	e.putCORS("web", corsRules)
	return e
}

// envOn is newEnv on the store open gives, also serving virtual-hosted
// requests for the domain s3.test.
func envOn(t *testing.T, open storeOpener) *testEnv {
	t.Helper()
	st, _ := open(t)
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion, Domain: "s3.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	mc, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{Creds: miniocreds.NewStaticV4(testAK, testSK, ""), Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, h: h, srv: srv, minio: mc, s3: s3.New(s3.Options{Region: testRegion, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})}
	return e
}

// TestCORSPreflight: unauthenticated OPTIONS on bucket and object URLs,
// path-style and virtual-hosted, answered from the bucket's rules.
func TestCORSPreflight(t *testing.T) {
	eachStore(t, testCORSPreflight)
}

func testCORSPreflight(t *testing.T, open storeOpener) {
	e := corsEnv(t, open)
	allowed := http.Header{
		"Access-Control-Allow-Origin":      {appOrigin},
		"Access-Control-Allow-Credentials": {"true"},
		"Access-Control-Allow-Methods":     {"GET, PUT, POST"},
		"Access-Control-Expose-Headers":    {"ETag, x-amz-request-id"},
		"Access-Control-Max-Age":           {"3000"},
		"Vary":                             {"Origin, Access-Control-Request-Headers, Access-Control-Request-Method"},
	}
	withHeaders := allowed.Clone()
	withHeaders.Set("Access-Control-Allow-Headers", "content-type, x-amz-date, x-amz-meta-a")
	star := http.Header{
		"Access-Control-Allow-Origin":  {"*"},
		"Access-Control-Allow-Methods": {"HEAD"},
		"Vary":                         {"Origin, Access-Control-Request-Headers, Access-Control-Request-Method"},
	}
	for _, c := range []struct {
		name                    string
		path                    string
		origin, method, headers string
		status                  int
		want                    http.Header // the CORS headers of a 200
		code, message           string      // the error of a refusal
		errMethod, resource     string
	}{
		{"object", "/web/a.txt", appOrigin, "PUT", "", 200, allowed, "", "", "", ""},
		{"missing object", "/web/not/there", appOrigin, "GET", "", 200, allowed, "", "", "", ""},
		{"bucket", "/web", appOrigin, "POST", "", 200, allowed, "", "", "", ""},
		{"multipart URL", "/web/big?uploadId=abc&partNumber=2", appOrigin, "PUT", "", 200, allowed, "", "", "", ""},
		{"presigned URL", "/web/a.txt?X-Amz-Signature=bad&X-Amz-Credential=x", appOrigin, "GET", "", 200, allowed, "", "", "", ""},
		{"headers", "/web/a.txt", appOrigin, "PUT", "Content-Type, X-Amz-Date,x-amz-meta-a", 200, withHeaders, "", "", "", ""},
		{"wildcard origin", "/web/a.txt", "http://www.example.org", "GET", "", 200, http.Header{
			"Access-Control-Allow-Origin": {"http://www.example.org"}, "Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods": {"GET"}, "Vary": star["Vary"]}, "", "", "", ""},
		{"any origin", "/web/a.txt", "https://else.example", "HEAD", "", 200, star, "", "", "", ""},
		{"header not allowed", "/web/a.txt", appOrigin, "PUT", "content-type,authorization", 403, nil,
			"AccessForbidden", "CORSResponse: This CORS request is not allowed.", "PUT", "OBJECT"},
		{"origin not allowed", "/web", "https://evil.example", "PUT", "", 403, nil,
			"AccessForbidden", "CORSResponse: This CORS request is not allowed.", "PUT", "BUCKET"},
		{"method not allowed", "/web/a.txt", appOrigin, "DELETE", "", 403, nil,
			"AccessForbidden", "CORSResponse: This CORS request is not allowed.", "DELETE", "OBJECT"},
		{"no origin", "/web/a.txt", "", "GET", "", 400, nil, "BadRequest", "Insufficient information. Origin request header needed.", "", ""},
		{"no method", "/web/a.txt", appOrigin, "", "", 400, nil, "BadRequest", "Invalid Access-Control-Request-Method: null", "", ""},
		{"bad method", "/web/a.txt", appOrigin, "PATCH", "", 400, nil, "BadRequest", "Invalid Access-Control-Request-Method: PATCH", "", ""},
		{"bad header name", "/web/a.txt", appOrigin, "GET", "a b", 400, nil, "BadRequest", `Access-Control-Request-Headers "a b" contains invalid character.`, "", ""},
		{"no configuration", "/plain/a.txt", appOrigin, "GET", "", 403, nil,
			"AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", "GET", "BUCKET"},
		{"no configuration, no method", "/plain", appOrigin, "", "", 403, nil,
			"AccessForbidden", "CORSResponse: CORS is not enabled for this bucket.", "OPTIONS", "BUCKET"},
		{"no bucket", "/nope/a.txt", appOrigin, "GET", "", 403, nil, "AccessForbidden", "CORSResponse: Bucket not found", "GET", "BUCKET"},
		{"invalid bucket name", "/No_Such/a.txt", appOrigin, "GET", "", 403, nil, "AccessForbidden", "CORSResponse: Bucket not found", "GET", "BUCKET"},
		{"service", "/", appOrigin, "GET", "", 403, nil, "AccessForbidden", "CORSResponse: Bucket not found", "GET", "BUCKET"},
	} {
		for _, vhost := range []bool{false, true} {
			if vhost && c.path == "/" {
				continue
			}
			t.Run(fmt.Sprintf("%s vhost=%v", c.name, vhost), func(t *testing.T) {
				req := httptest.NewRequest(http.MethodOptions, c.path, nil)
				if vhost {
					bucket, rest, _ := strings.Cut(strings.TrimPrefix(c.path, "/"), "/")
					req = httptest.NewRequest(http.MethodOptions, "/"+rest, nil)
					req.Host = strings.ToLower(bucket) + ".s3.test"
					if bucket == "No_Such" {
						req.Host = "no_such.s3.test"
					}
				}
				for k, v := range map[string]string{"Origin": c.origin, "Access-Control-Request-Method": c.method, "Access-Control-Request-Headers": c.headers} {
					if v != "" {
						req.Header.Set(k, v)
					}
				}
				w := httptest.NewRecorder()
				e.h.ServeHTTP(w, req)
				if w.Code != c.status {
					t.Fatalf("status %d, want %d: %s", w.Code, c.status, w.Body)
				}
				got := http.Header{}
				for k, v := range w.Header() {
					if strings.HasPrefix(k, "Access-Control-") || k == "Vary" {
						got[k] = v
					}
				}
				if c.status == http.StatusOK {
					if fmt.Sprint(got) != fmt.Sprint(c.want) || w.Body.Len() != 0 {
						t.Errorf("headers\n %v\nwant\n %v\nbody %q", got, c.want, w.Body)
					}
					return
				}
				if len(got) != 0 {
					t.Errorf("a refused preflight has CORS headers %v", got)
				}
				var pe preflightError
				if err := xml.Unmarshal(w.Body.Bytes(), &pe); err != nil {
					t.Fatalf("body %q: %v", w.Body, err)
				}
				if pe.Code != c.code || !strings.HasPrefix(pe.Message, c.message) || pe.Method != c.errMethod ||
					pe.ResourceType != c.resource || pe.RequestID == "" || pe.RequestID != w.Header().Get("x-amz-request-id") {
					t.Errorf("error %+v, want %s %q Method %q ResourceType %q", pe, c.code, c.message, c.errMethod, c.resource)
				}
			})
		}
	}
}

// TestCORSActualRequests: requests with an Origin get the matching rule's
// headers on success and on every error (authentication included); others
// get none.
func TestCORSActualRequests(t *testing.T) {
	eachStore(t, testCORSActualRequests)
}

func testCORSActualRequests(t *testing.T, open storeOpener) {
	e := corsEnv(t, open)
	for _, c := range []struct {
		name, method, path, origin string
		signed                     bool
		hdr                        map[string]string
		status                     int
		cors                       bool
	}{
		{"GET", "GET", "/web/a.txt", appOrigin, true, nil, 200, true},
		{"PUT", "PUT", "/web/b.txt", appOrigin, true, nil, 200, true},
		{"NoSuchKey", "GET", "/web/missing", appOrigin, true, nil, 404, true},
		{"ListObjects", "GET", "/web", appOrigin, true, nil, 200, true},
		{"unsigned", "GET", "/web/a.txt", appOrigin, false, nil, 403, true},
		{"bad signature", "GET", "/web/a.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=accesskey%2F20200101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20200101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=00",
			appOrigin, false, nil, 403, true},
		{"wildcard origin", "GET", "/web/a.txt", "http://a.example.org", true, nil, 200, true},
		// The method decides: DELETE is in no rule for this origin.
		{"method not allowed", "DELETE", "/web/b.txt", appOrigin, true, nil, 204, false},
		// Access-Control-Request-Method decides when present.
		{"request method header", "GET", "/web/a.txt", appOrigin, true, map[string]string{"Access-Control-Request-Method": "DELETE"}, 200, false},
		{"origin not allowed", "GET", "/web/a.txt", "https://evil.example", true, nil, 200, false},
		{"no origin", "GET", "/web/a.txt", "", true, nil, 200, false},
		{"no configuration", "GET", "/plain", appOrigin, true, nil, 200, false},
		{"no bucket", "GET", "/nope/a.txt", appOrigin, true, nil, 404, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := e.rawRequest(c.method, c.path, nil)
			if c.origin != "" {
				req.Header.Set("Origin", c.origin)
			}
			for k, v := range c.hdr {
				req.Header.Set(k, v)
			}
			if c.signed {
				sign(t, req, nil, testAK, testSK, time.Now())
			}
			resp, body := e.send(req)
			if resp.StatusCode != c.status {
				t.Fatalf("status %s, want %d: %s", resp.Status, c.status, body)
			}
			acao := resp.Header.Get("Access-Control-Allow-Origin")
			vary := resp.Header.Get("Vary")
			switch {
			case c.cors && (acao != c.origin || vary != "Origin, Access-Control-Request-Headers, Access-Control-Request-Method" || resp.Header.Get("Access-Control-Allow-Credentials") != "true"):
				t.Errorf("CORS headers %v, want the origin's", resp.Header)
			case c.cors && c.origin == appOrigin && (resp.Header.Get("Access-Control-Expose-Headers") != "ETag, x-amz-request-id" || resp.Header.Get("Access-Control-Max-Age") != "3000"):
				t.Errorf("CORS headers %v, want the rule's expose headers and max age", resp.Header)
			case !c.cors && (acao != "" || vary != ""):
				t.Errorf("CORS headers %v, want none", resp.Header)
			}
		})
	}
}

// TestCORSPreflightFlood: a flood of preflights (varied origins, header
// lists and buckets, present and not) neither grows the heap nor blocks a
// signed request served at the same time.
func TestCORSPreflightFlood(t *testing.T) {
	e := corsEnv(t, openEmbedded)
	// Every fourth is allowed; the others are refused for their origin, a
	// bucket without rules, or a missing bucket.
	preflight := func(i int) (got, want int) {
		req := httptest.NewRequest(http.MethodOptions, []string{"/web/a.txt", "/web/a.txt", "/plain/x", fmt.Sprintf("/nope%d/x", i)}[i%4], nil)
		origin, want := fmt.Sprintf("https://o%d.example", i), http.StatusForbidden
		if i%4 == 0 {
			origin, want = appOrigin, http.StatusOK
		}
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", strings.Repeat(fmt.Sprintf("x-amz-h%d,", i), 50))
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w.Code, want
	}
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	flood := func(n int) {
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := g; i < n; i += 8 {
					if got, want := preflight(i); got != want {
						t.Errorf("preflight %d: %d, want %d", i, got, want)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	flood(2000) // warm up: caches and pools at their working size
	before, goroutines := heap(), runtime.NumGoroutine()
	done := make(chan struct{})
	go func() { defer close(done); flood(30000) }()
	// Served while the flood runs.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("web"), Key: aws.String("a.txt")}); err != nil {
		t.Errorf("HeadObject during the flood: %v", err)
	}
	<-done
	after := heap()
	t.Logf("heap in use: %d bytes before, %d after 30,000 preflights", before, after)
	if grown := int64(after) - int64(before); grown > 8<<20 {
		t.Errorf("heap grew by %d bytes over 30,000 preflights", grown)
	}
	if n := runtime.NumGoroutine(); n > goroutines+2 {
		t.Errorf("%d goroutines after the flood, %d before", n, goroutines)
	}
}

// BenchmarkCORSPreflight: the cost of one preflight against a bucket with
// 100 rules where only the last allows the origin, with 20 requested
// headers (the worst rule scan a configuration allows).
func BenchmarkCORSPreflight(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	cli := s3.New(s3.Options{Region: testRegion, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})
	ctx := context.Background()
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("web")}); err != nil {
		b.Fatal(err)
	}
	rules := make([]types.CORSRule, 100)
	for i := range rules {
		rules[i] = types.CORSRule{AllowedOrigins: []string{fmt.Sprintf("https://*.o%d.example", i)}, AllowedMethods: []string{"PUT"},
			AllowedHeaders: []string{"content-type", "x-amz-*"}}
	}
	rules[99].AllowedOrigins = []string{"https://app.example"}
	if _, err := cli.PutBucketCors(ctx, &s3.PutBucketCorsInput{Bucket: aws.String("web"), CORSConfiguration: &types.CORSConfiguration{CORSRules: rules}}); err != nil {
		b.Fatal(err)
	}
	headers := "content-type"
	for i := range 19 {
		headers += fmt.Sprintf(",x-amz-meta-h%d", i)
	}
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest(http.MethodOptions, "/web/key", nil)
		req.Header.Set("Origin", "https://app.example")
		req.Header.Set("Access-Control-Request-Method", "PUT")
		req.Header.Set("Access-Control-Request-Headers", headers)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// TestCORSSharedUpstream: in upstream mode the rules live upstream, in the
// order's namespace: rules set through one gateway answer the preflights
// of another serving the same order, and their deletion too (here without
// a cache: BucketCacheTTL < 0).
func TestCORSSharedUpstream(t *testing.T) {
	srv := sharedMinIO(t)
	cfg := upstream.Config{Endpoint: "http://" + srv.Endpoint, Bucket: ordersUpstreamBucket,
		Prefix:    fmt.Sprintf("cors%d-%d/", time.Now().UnixNano()%1e9, minioPrefix.Add(1)),
		AccessKey: srv.AccessKey, SecretKey: srv.SecretKey, BucketCacheTTL: -1}
	gateways := make([]*testEnv, 2)
	for i := range gateways {
		gateways[i] = envOn(t, func(t *testing.T) (store.Store, func(context.Context) (store.Usage, error)) {
			st, err := upstream.New(cfg, upstream.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st, nil
		})
	}
	a, b := gateways[0], gateways[1]
	a.mkBucket("web")
	preflight := func(e *testEnv) int {
		req := httptest.NewRequest(http.MethodOptions, "/web/x", nil)
		req.Header.Set("Origin", appOrigin)
		req.Header.Set("Access-Control-Request-Method", "PUT")
		w := httptest.NewRecorder()
		e.h.ServeHTTP(w, req)
		return w.Code
	}
	if code := preflight(b); code != http.StatusForbidden {
		t.Fatalf("preflight before any rule: %d", code)
	}
	a.putCORS("web", corsRules)
	if code := preflight(b); code != http.StatusOK {
		t.Errorf("preflight through the other gateway after PutBucketCors: %d, want 200", code)
	}
	if _, err := a.s3.DeleteBucketCors(context.Background(), &s3.DeleteBucketCorsInput{Bucket: aws.String("web")}); err != nil {
		t.Fatal(err)
	}
	if code := preflight(b); code != http.StatusForbidden {
		t.Errorf("preflight through the other gateway after DeleteBucketCors: %d, want 403", code)
	}
}
