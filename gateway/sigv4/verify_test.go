package sigv4

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

var now0 = time.Date(2024, 2, 29, 23, 55, 0, 0, time.UTC)

// toServer sends r through net/http's wire format, returning the request a
// handler would see.
func toServer(t testing.TB, r *http.Request) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if err := r.Write(&buf); err != nil {
		t.Fatal(err)
	}
	sr, err := http.ReadRequest(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	return sr
}

// signedPut returns a header-signed PUT made by aws-sdk-go-v2 at time at.
func signedPut(t testing.TB, region string, at time.Time, edit func(*http.Request)) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, "http://bucket.example.com", strings.NewReader("hello"))
	req.URL = sdkURL("http://bucket.example.com", "b", "dir/a key+.txt", "x-id=PutObject&tagging=")
	req.Header.Set("X-Amz-Content-Sha256", sha256Hex("hello"))
	req.Header.Set("X-Amz-Meta-Foo", "bar")
	if edit != nil {
		edit(req)
	}
	payload := req.Header.Get("X-Amz-Content-Sha256")
	if err := sdkSigner.SignHTTP(context.Background(), sdkCreds, req, payload, "s3", region, at); err != nil {
		t.Fatal(err)
	}
	return req
}

// presigned returns a presigned GET URL made by aws-sdk-go-v2 at time at.
func presigned(t testing.TB, region string, at time.Time, expires string) *http.Request {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://bucket.example.com", nil)
	req.URL = sdkURL("http://bucket.example.com", "b", "k ey", "X-Amz-Expires="+expires)
	u, _, err := sdkSigner.PresignHTTP(context.Background(), sdkCreds, req, UnsignedPayload, "s3", region, at)
	if err != nil {
		t.Fatal(err)
	}
	out, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func setQuery(r *http.Request, name, value string) {
	q := r.URL.Query()
	q.Set(name, value)
	r.URL.RawQuery = q.Encode()
}

func authHeader(r *http.Request) string { return r.Header.Get("Authorization") }

func sigOf(r *http.Request) string {
	if s := r.URL.Query().Get("X-Amz-Signature"); s != "" {
		return s
	}
	_, s, _ := strings.Cut(authHeader(r), "Signature=")
	return s
}

func TestVerifyErrors(t *testing.T) {
	at := func(d time.Duration) func() time.Time { return func() time.Time { return now0.Add(d) } }
	type tc struct {
		name   string
		v      *Verifier // default: us-east-1, test key, clock now0
		req    func() *http.Request
		want   *s3err.Error // nil: success
		msg    string       // substring of the message
		verify func(*testing.T, *Auth)
	}
	put := func(edit func(*http.Request)) func() *http.Request {
		return func() *http.Request { return signedPut(t, "us-east-1", now0, edit) }
	}
	mutate := func(base func() *http.Request, f func(*http.Request)) func() *http.Request {
		return func() *http.Request { r := base(); f(r); return r }
	}
	replaceAuth := func(old, new string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("Authorization", strings.Replace(authHeader(r), old, new, 1)) }
	}
	pre := func(expires string, signedAt time.Time) func() *http.Request {
		return func() *http.Request { return presigned(t, "us-east-1", signedAt, expires) }
	}
	week := 7 * 24 * time.Hour
	cases := []tc{
		{name: "valid header auth", req: put(nil), verify: func(t *testing.T, a *Auth) {
			if a.AccessKey != testAK || a.Presigned || a.PayloadHash != sha256Hex("hello") || a.Streaming() {
				t.Fatalf("auth = %+v", a)
			}
		}},
		{name: "any region when Region is empty", v: &Verifier{Lookup: lookupOf(testAK, testSecret), Now: at(0)},
			req: func() *http.Request { return signedPut(t, "ap-south-2", now0, nil) }},
		{name: "anonymous", req: func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://bucket.example.com/b/k", nil)
			return r
		}, want: s3err.AccessDenied},
		{name: "sigv2 header", req: mutate(put(nil), func(r *http.Request) {
			r.Header.Set("Authorization", "AWS "+testAK+":frJIUN8DYpKDtOLCwo//yllqDzg=")
		}), want: s3err.InvalidRequest, msg: "Signature Version 2"},
		{name: "sigv2 presigned", req: func() *http.Request {
			r, _ := http.NewRequest(http.MethodGet, "http://bucket.example.com/b/k?AWSAccessKeyId="+testAK+"&Expires=1700000000&Signature=abc%3D", nil)
			return r
		}, want: s3err.InvalidRequest, msg: "Signature Version 2"},
		{name: "unknown scheme", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("Authorization", "Bearer xyz") }), want: s3err.InvalidArgument},
		{name: "sigv4a", req: mutate(put(nil), replaceAuth("AWS4-HMAC-SHA256 ", "AWS4-ECDSA-P256-SHA256 ")), want: s3err.InvalidArgument},
		{name: "header and query auth", req: mutate(put(nil), func(r *http.Request) { setQuery(r, "X-Amz-Algorithm", "AWS4-HMAC-SHA256") }), want: s3err.InvalidArgument},
		{name: "two Authorization headers", req: mutate(put(nil), func(r *http.Request) { r.Header.Add("Authorization", authHeader(r)) }), want: s3err.AuthorizationHeaderMalformed},
		{name: "unknown access key", v: &Verifier{Region: "us-east-1", Lookup: lookupOf("OTHER", "x"), Now: at(0)}, req: put(nil), want: s3err.InvalidAccessKeyID},
		{name: "no Lookup", v: &Verifier{Region: "us-east-1", Now: at(0)}, req: put(nil), want: s3err.InvalidAccessKeyID},
		{name: "skew +16 min", v: &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: at(16 * time.Minute)}, req: put(nil), want: s3err.RequestTimeTooSkewed},
		{name: "skew -16 min", v: &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: at(-16 * time.Minute)}, req: put(nil), want: s3err.RequestTimeTooSkewed},
		{name: "skew +14 min", v: &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: at(14 * time.Minute)}, req: put(nil)},
		{name: "skew -14 min", v: &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: at(-14 * time.Minute)}, req: put(nil)},
		{name: "region mismatch", req: func() *http.Request { return signedPut(t, "us-west-2", now0, nil) },
			want: s3err.AuthorizationHeaderMalformed, msg: "the region 'us-west-2' is wrong; expecting 'us-east-1'"},
		{name: "service not s3", req: mutate(put(nil), replaceAuth("/s3/", "/ec2/")), want: s3err.AuthorizationHeaderMalformed, msg: "incorrect service"},
		{name: "bad terminal", req: mutate(put(nil), replaceAuth("aws4_request", "aws5_request")), want: s3err.AuthorizationHeaderMalformed},
		{name: "scope date is not the request day", req: mutate(put(nil), replaceAuth("/20240229/", "/20240301/")), want: s3err.AuthorizationHeaderMalformed, msg: "Invalid credential date"},
		{name: "scope date garbage", req: mutate(put(nil), replaceAuth("/20240229/", "/2024-02-29/")), want: s3err.AuthorizationHeaderMalformed},
		{name: "credential too short", req: mutate(put(nil), replaceAuth(testAK+"/20240229/", "")), want: s3err.AuthorizationHeaderMalformed},
		{name: "missing Signature", req: mutate(put(nil), func(r *http.Request) {
			h, _, _ := strings.Cut(authHeader(r), ", Signature=")
			r.Header.Set("Authorization", h)
		}), want: s3err.AuthorizationHeaderMalformed, msg: "three components"},
		{name: "duplicate Signature", req: mutate(put(nil), func(r *http.Request) {
			r.Header.Set("Authorization", authHeader(r)+", Signature="+sigOf(r))
		}), want: s3err.AuthorizationHeaderMalformed},
		{name: "unknown component", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("Authorization", authHeader(r)+", Foo=bar") }), want: s3err.AuthorizationHeaderMalformed},
		{name: "algorithm alone", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("Authorization", "AWS4-HMAC-SHA256") }), want: s3err.InvalidArgument},
		{name: "no spaces after commas", req: mutate(put(nil), replaceAuth(", ", ","))},
		{name: "extra spaces and tabs", req: mutate(put(nil), func(r *http.Request) {
			h := strings.ReplaceAll(authHeader(r), ", ", " ,\t  ")
			r.Header.Set("Authorization", strings.Replace(h, "AWS4-HMAC-SHA256 ", "AWS4-HMAC-SHA256   ", 1))
		})},
		{name: "missing x-amz-content-sha256", req: mutate(put(nil), func(r *http.Request) { r.Header.Del("X-Amz-Content-Sha256") }),
			want: s3err.InvalidRequest, msg: "x-amz-content-sha256"},
		{name: "invalid x-amz-content-sha256", req: put(func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", "abc") }), want: s3err.InvalidArgument},
		{name: "ECDSA streaming payload", req: put(func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD")
		}), want: s3err.InvalidArgument},
		{name: "uppercase payload hash", req: put(func(r *http.Request) { r.Header.Set("X-Amz-Content-Sha256", strings.ToUpper(sha256Hex("hello"))) }),
			verify: func(t *testing.T, a *Auth) {
				if a.PayloadHash != sha256Hex("hello") {
					t.Fatalf("PayloadHash = %q", a.PayloadHash)
				}
			}},
		{name: "streaming payload", req: put(func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", StreamingSigned)
			r.Header.Set("X-Amz-Decoded-Content-Length", "5")
		}), verify: func(t *testing.T, a *Auth) {
			if !a.Streaming() || a.decodedLen != 5 {
				t.Fatalf("auth = %+v", a)
			}
		}},
		{name: "bad decoded length", req: put(func(r *http.Request) {
			r.Header.Set("X-Amz-Content-Sha256", StreamingUnsignedTrailer)
			r.Header.Set("X-Amz-Decoded-Content-Length", "-5")
		}), want: s3err.InvalidArgument},
		{name: "no date", req: mutate(put(nil), func(r *http.Request) { r.Header.Del("X-Amz-Date") }), want: s3err.AccessDenied, msg: "Date"},
		{name: "bad x-amz-date", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("X-Amz-Date", "2024-02-29T23:55:00Z") }), want: s3err.AccessDenied},
		{name: "signed header removed by a proxy", req: mutate(put(nil), func(r *http.Request) { r.Header.Del("X-Amz-Meta-Foo") }),
			want: s3err.SignatureDoesNotMatch, msg: "x-amz-meta-foo"},
		{name: "unsigned x-amz header", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("X-Amz-Acl", "public-read") }),
			want: s3err.AccessDenied, msg: "x-amz-acl"},
		{name: "host not signed", req: mutate(put(nil), replaceAuth("SignedHeaders=content-length;host;", "SignedHeaders=content-length;")),
			want: s3err.AuthorizationHeaderMalformed, msg: "host"},
		{name: "modified header", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("X-Amz-Meta-Foo", "baz") }), want: s3err.SignatureDoesNotMatch},
		{name: "whitespace in header is canonical", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("X-Amz-Meta-Foo", "  bar ") })},
		{name: "modified path", req: mutate(put(nil), func(r *http.Request) {
			r.URL.RawPath = strings.Replace(r.URL.RawPath, "a%20key", "a%20kex", 1)
			r.URL.Path = "/b/dir/a kex+.txt"
		}),
			want: s3err.SignatureDoesNotMatch},
		{name: "path escaped differently is the same key", req: mutate(put(nil), func(r *http.Request) { r.URL.RawPath = strings.Replace(r.URL.RawPath, "%2B", "+", 1) })},
		{name: "modified query", req: mutate(put(nil), func(r *http.Request) { r.URL.RawQuery += "&acl" }), want: s3err.SignatureDoesNotMatch},
		{name: "modified method", req: mutate(put(nil), func(r *http.Request) { r.Method = http.MethodPost }), want: s3err.SignatureDoesNotMatch},
		{name: "modified host", req: mutate(put(nil), func(r *http.Request) { r.Host = "other.example.com" }), want: s3err.SignatureDoesNotMatch},
		{name: "flipped signature", req: mutate(put(nil), func(r *http.Request) { r.Header.Set("Authorization", flipLastHex(authHeader(r))) }), want: s3err.SignatureDoesNotMatch},
		{name: "short signature", req: mutate(put(nil), func(r *http.Request) { h := authHeader(r); r.Header.Set("Authorization", h[:len(h)-1]) }), want: s3err.SignatureDoesNotMatch},
		{name: "wrong secret", v: &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret+"x"), Now: at(0)}, req: put(nil), want: s3err.SignatureDoesNotMatch},

		// Presigned URLs.
		{name: "presigned", req: pre("3600", now0), verify: func(t *testing.T, a *Auth) {
			if !a.Presigned || a.PayloadHash != UnsignedPayload || a.AccessKey != testAK {
				t.Fatalf("auth = %+v", a)
			}
		}},
		{name: "presigned, a week", v: &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: at(week)}, req: pre("604800", now0)},
		{name: "presigned, expired", v: &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: at(3601 * time.Second)}, req: pre("3600", now0),
			want: s3err.AccessDenied, msg: "Request has expired"},
		{name: "presigned, X-Amz-Expires=604801", req: pre("604801", now0),
			want: s3err.AuthorizationQueryParametersError, msg: "X-Amz-Expires must be less than a week (in seconds) that is; 604800"},
		{name: "presigned, huge X-Amz-Expires", req: pre("99999999999999999999999", now0), want: s3err.AuthorizationQueryParametersError, msg: "604800"},
		{name: "presigned, X-Amz-Expires=0", req: pre("0", now0), want: s3err.AuthorizationQueryParametersError},
		{name: "presigned, X-Amz-Expires=-1", req: pre("-1", now0), want: s3err.AuthorizationQueryParametersError, msg: "non-negative"},
		{name: "presigned, X-Amz-Expires=abc", req: pre("abc", now0), want: s3err.AuthorizationQueryParametersError, msg: "number"},
		{name: "presigned, 16 min in the future", req: pre("3600", now0.Add(16*time.Minute)), want: s3err.AccessDenied, msg: "not valid yet"},
		{name: "presigned, 14 min in the future", req: pre("3600", now0.Add(14*time.Minute))},
		{name: "presigned, region mismatch", req: func() *http.Request { return presigned(t, "us-west-1", now0, "60") },
			want: s3err.AuthorizationQueryParametersError, msg: "the region 'us-west-1' is wrong; expecting 'us-east-1'"},
		{name: "presigned, missing X-Amz-Signature", req: mutate(pre("60", now0), func(r *http.Request) {
			q := r.URL.Query()
			q.Del("X-Amz-Signature")
			r.URL.RawQuery = q.Encode()
		}), want: s3err.AuthorizationQueryParametersError},
		{name: "presigned, bad algorithm", req: mutate(pre("60", now0), func(r *http.Request) { setQuery(r, "X-Amz-Algorithm", "AWS4-HMAC-SHA1") }),
			want: s3err.AuthorizationQueryParametersError},
		{name: "presigned, bad date", req: mutate(pre("60", now0), func(r *http.Request) { setQuery(r, "X-Amz-Date", "yesterday") }),
			want: s3err.AuthorizationQueryParametersError},
		{name: "presigned, duplicate X-Amz-Date", req: mutate(pre("60", now0), func(r *http.Request) {
			r.URL.RawQuery += "&X-Amz-Date=" + r.URL.Query().Get("X-Amz-Date")
		}), want: s3err.AuthorizationQueryParametersError},
		{name: "presigned, added parameter", req: mutate(pre("60", now0), func(r *http.Request) { r.URL.RawQuery += "&response-content-type=text%2Fhtml" }),
			want: s3err.SignatureDoesNotMatch},
		{name: "presigned, flipped signature", req: mutate(pre("60", now0), func(r *http.Request) { r.URL.RawQuery = flipLastHex(r.URL.RawQuery) }),
			want: s3err.SignatureDoesNotMatch},
		{name: "presigned, unsigned x-amz header", req: mutate(pre("60", now0), func(r *http.Request) { r.Header.Set("X-Amz-Server-Side-Encryption", "AES256") }),
			want: s3err.AccessDenied, msg: "x-amz-server-side-encryption"},
		{name: "presigned, header not signed is fine", req: mutate(pre("60", now0), func(r *http.Request) { r.Header.Set("Range", "bytes=0-1") })},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := c.v
			if v == nil {
				v = &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: at(0)}
			}
			cr := c.req()
			good := sigOf(cr)
			r := toServer(t, cr)
			a, err := v.Verify(r)
			if c.want == nil {
				if err != nil {
					t.Fatalf("unexpected error: %v\n%s", err, debugCanonical(t, v, r, ""))
				}
				if c.verify != nil {
					c.verify(t, a)
				}
				return
			}
			if a != nil || !errors.Is(err, c.want) {
				t.Fatalf("err = %v (auth %v), want %s", err, a, c.want.Code)
			}
			if _, ok := err.(*s3err.Error); !ok {
				t.Fatalf("error is %T, not *s3err.Error", err)
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("message %q does not contain %q", err.Error(), c.msg)
			}
			if strings.Contains(err.Error(), testSecret) || (len(good) == 64 && strings.Contains(err.Error(), good)) {
				t.Fatalf("message leaks a secret or a signature: %q", err.Error())
			}
		})
	}
}

// A request authenticated by the Date header alone (no x-amz-date). The
// canonical request is written out by hand.
func TestVerifyDateHeader(t *testing.T) {
	const date = "Fri, 24 May 2013 00:00:00 GMT"
	canonical := "GET\n/b/k\n\n" +
		"date:" + date + "\nhost:examplebucket.s3.amazonaws.com\nx-amz-content-sha256:" + emptySHA256 + "\n\n" +
		"date;host;x-amz-content-sha256\n" + emptySHA256
	key := deriveKey(docSecret, "20130524", "us-east-1", "s3")
	sig := hmacHex(key[:], "AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"+sha256Hex(canonical))
	mk := func(d string) *http.Request {
		return parseRaw(t, "GET /b/k HTTP/1.1",
			"Host: examplebucket.s3.amazonaws.com",
			"Date: "+d,
			"x-amz-content-sha256: "+emptySHA256,
			"Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, SignedHeaders=date;host;x-amz-content-sha256, Signature="+sig)
	}
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(docAK, docSecret), Now: func() time.Time { return docTime.Add(10 * time.Minute) }}
	if _, err := v.Verify(mk(date)); err != nil {
		t.Fatalf("verify: %v\n%s", err, debugCanonical(t, v, mk(date), ""))
	}
	if _, err := v.Verify(mk("not a date")); !errors.Is(err, s3err.AccessDenied) {
		t.Fatalf("bad Date: %v", err)
	}
	v.Now = func() time.Time { return docTime.Add(-20 * time.Minute) }
	if _, err := v.Verify(mk(date)); !errors.Is(err, s3err.RequestTimeTooSkewed) {
		t.Fatalf("skewed Date: %v", err)
	}
}

// Canonical URI and query encoding, for the raw forms clients send.
func TestCanonicalEncoding(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{"", "/"},
		{"/", "/"},
		{"/b/a%20b", "/b/a%20b"},
		{"/b/a+b", "/b/a%2Bb"},
		{"/b/a%2Bb", "/b/a%2Bb"},
		{"/b/a%2bb", "/b/a%2Bb"},
		{"/b/%25", "/b/%25"},
		{"/b/%", "/b/%25"},
		{"/b/%zz", "/b/%25zz"},
		{"/b/a%2Fb", "/b/a/b"},
		{"/b/~x", "/b/~x"},
		{"/b/%7Ex", "/b/~x"},
		{"/b/=&$", "/b/%3D%26%24"},
		{"/b/ü", "/b/%C3%BC"},
		{"/b//../.", "/b//../."},
	} {
		if got := string(appendCanonicalURI(nil, c.raw)); got != c.want {
			t.Errorf("canonical URI of %q = %q, want %q", c.raw, got, c.want)
		}
	}
	for _, c := range []struct{ raw, want string }{
		{"", ""},
		{"acl", "acl="},
		{"b=2&a=1&a=0", "a=0&a=1&b=2"},
		{"a-b=1&a=2", "a=2&a-b=1"},
		{"prefix=a+b", "prefix=a%20b"},
		{"prefix=a%2Bb", "prefix=a%2Bb"},
		{"p=%2F&q=/", "p=%2F&q=%2F"},
		{"&&x=1&", "x=1"},
		{"k=%E6%97%A5", "k=%E6%97%A5"},
		{"X-Amz-Signature=abc&X-Amz-Date=1", "X-Amz-Date=1"},
		{"v=a=b", "v=a%3Db"},
	} {
		if got := string(appendCanonicalQuery(nil, parseQuery(c.raw))); got != c.want {
			t.Errorf("canonical query of %q = %q, want %q", c.raw, got, c.want)
		}
	}
	// The raw request line wins over a rewritten r.URL.
	r := parseRaw(t, "GET /b/a%2Bb?x=1 HTTP/1.1", "Host: h")
	r.URL.Path = "/rewritten"
	r.URL.RawPath = ""
	if got := rawPath(r); got != "/b/a%2Bb" {
		t.Errorf("rawPath = %q", got)
	}
	// A client-side request (no RequestURI) falls back to r.URL.
	cr := &http.Request{URL: &url.URL{Path: "/b/a b", RawQuery: "y=2"}}
	if got, q := rawPath(cr), rawQuery(cr); got != "/b/a%20b" || q != "y=2" {
		t.Errorf("rawPath, rawQuery = %q, %q", got, q)
	}
}

func BenchmarkVerify(b *testing.B) {
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret), Now: func() time.Time { return now0 }}
	r := toServer(b, signedPut(b, "us-east-1", now0, nil))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.Verify(r); err != nil {
			b.Fatal(err)
		}
	}
}
