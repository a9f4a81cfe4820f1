package sigv4

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Credentials of the AWS SigV4 test suite and of the S3 documentation.
const (
	suiteAK     = "AKIDEXAMPLE"
	suiteSecret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
	docAK       = "AKIAIOSFODNN7EXAMPLE"
	docSecret   = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
)

var (
	suiteTime = time.Date(2015, 8, 30, 12, 36, 0, 0, time.UTC)
	docTime   = time.Date(2013, 5, 24, 0, 0, 0, 0, time.UTC)
)

func lookupOf(pairs ...string) func(string) (string, bool) {
	return func(ak string) (string, bool) {
		for i := 0; i+1 < len(pairs); i += 2 {
			if pairs[i] == ak {
				return pairs[i+1], true
			}
		}
		return "", false
	}
}

// parseRaw turns raw request lines into a server-side *http.Request, as
// net/http would hand it to a handler.
func parseRaw(t testing.TB, lines ...string) *http.Request {
	t.Helper()
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(strings.Join(lines, "\r\n") + "\r\n\r\n")))
	if err != nil {
		t.Fatalf("parse request: %v", err)
	}
	return r
}

func sha256Hex(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// debugCanonical returns the canonical request the verifier builds for r.
func debugCanonical(t testing.TB, v *Verifier, r *http.Request, payload string) string {
	t.Helper()
	var q *request
	var err error
	query := parseQuery(rawQuery(r))
	if a := r.Header.Get("Authorization"); a != "" {
		q, err = v.parseHeaderAuth(r, a, payload)
	} else {
		q, err = v.parseQueryAuth(r, query)
	}
	if err != nil {
		return "parse: " + err.Error()
	}
	q.query = query
	names, err := splitSignedHeaders(q)
	if err != nil {
		return "signed headers: " + err.Error()
	}
	b, err := appendCanonicalRequest(nil, r, q, names)
	if err != nil {
		return "canonical: " + err.Error()
	}
	return string(b)
}

// The AWS SigV4 test suite cases (aws-sig-v4-test-suite, 2015-08-30) whose
// semantics S3 shares: no path normalisation. Service "service", region
// us-east-1. Requests are the .req files; the raw space of get-space is sent
// as %20, as any HTTP client does.
func TestAWSSuiteVectors(t *testing.T) {
	const base = "Host:example.amazonaws.com"
	const date = "X-Amz-Date:20150830T123600Z"
	cases := []struct {
		name, line  string
		headers     []string
		body        string
		signed, sig string
	}{
		{"get-vanilla", "GET / HTTP/1.1", nil, "", "host;x-amz-date",
			"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-query", "GET /? HTTP/1.1", nil, "", "host;x-amz-date",
			"5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
		{"get-vanilla-empty-query-key", "GET /?Param1=value1 HTTP/1.1", nil, "", "host;x-amz-date",
			"a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
		{"get-vanilla-query-order-key-case", "GET /?Param2=value2&Param1=value1 HTTP/1.1", nil, "", "host;x-amz-date",
			"b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
		{"get-vanilla-query-order-key", "GET /?Param1=value2&Param1=Value1 HTTP/1.1", nil, "", "host;x-amz-date",
			"eedbc4e291e521cf13422ffca22be7d2eb8146eecf653089df300a15b2382bd1"},
		{"get-vanilla-query-order-value", "GET /?Param1=value2&Param1=value1 HTTP/1.1", nil, "", "host;x-amz-date",
			"5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"},
		{"get-vanilla-query-unreserved",
			"GET /?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1",
			nil, "", "host;x-amz-date",
			"9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197"},
		{"get-vanilla-utf8-query", "GET /?ሴ=bar HTTP/1.1", nil, "", "host;x-amz-date",
			"2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04"},
		{"get-utf8", "GET /ሴ HTTP/1.1", nil, "", "host;x-amz-date",
			"8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85"},
		{"get-space", "GET /example%20space/ HTTP/1.1", nil, "", "host;x-amz-date",
			"652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741"},
		{"get-unreserved", "GET /-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz HTTP/1.1", nil, "", "host;x-amz-date",
			"07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"},
		{"get-header-value-trim", "GET / HTTP/1.1", []string{"My-Header1: value1", `My-Header2: "a   b   c"`}, "",
			"host;my-header1;my-header2;x-amz-date",
			"acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
		{"get-header-value-order", "GET / HTTP/1.1",
			[]string{"My-Header1:value4", "My-Header1:value1", "My-Header1:value3", "My-Header1:value2"}, "",
			"host;my-header1;x-amz-date",
			"08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01"},
		{"post-vanilla", "POST / HTTP/1.1", nil, "", "host;x-amz-date",
			"5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"},
		{"post-vanilla-query", "POST /?Param1=value1 HTTP/1.1", nil, "", "host;x-amz-date",
			"28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
		{"post-header-key-sort", "POST / HTTP/1.1", []string{"My-Header1:value1"}, "", "host;my-header1;x-amz-date",
			"c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c"},
		{"post-header-value-case", "POST / HTTP/1.1", []string{"My-Header1:VALUE1"}, "", "host;my-header1;x-amz-date",
			"cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"},
		{"post-x-www-form-urlencoded", "POST / HTTP/1.1", []string{"Content-Type:application/x-www-form-urlencoded"},
			"Param1=value1", "content-type;host;x-amz-date",
			"ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
		{"post-x-www-form-urlencoded-parameters", "POST / HTTP/1.1",
			[]string{"Content-Type:application/x-www-form-urlencoded; charset=utf8"},
			"Param1=value1", "content-type;host;x-amz-date",
			"1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"},
	}
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(suiteAK, suiteSecret), Now: func() time.Time { return suiteTime }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lines := append([]string{tc.line}, tc.headers...)
			lines = append(lines, base, date,
				"Authorization: AWS4-HMAC-SHA256 Credential="+suiteAK+"/20150830/us-east-1/service/aws4_request, SignedHeaders="+tc.signed+", Signature="+tc.sig)
			r := parseRaw(t, lines...)
			a, err := v.verify(r, "service", sha256Hex(tc.body))
			if err != nil {
				t.Fatalf("verify: %v\ncanonical request:\n%s", err, debugCanonical(t, v, r, sha256Hex(tc.body)))
			}
			if a.AccessKey != suiteAK || a.Presigned {
				t.Fatalf("auth = %+v", a)
			}
			// One flipped signature digit must fail.
			bad := []byte(tc.sig)
			bad[10] ^= 1
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential="+suiteAK+"/20150830/us-east-1/service/aws4_request, SignedHeaders="+tc.signed+", Signature="+string(bad))
			if _, err := v.verify(r, "service", sha256Hex(tc.body)); !errors.Is(err, s3err.SignatureDoesNotMatch) {
				t.Fatalf("flipped signature: err = %v", err)
			}
		})
	}
}

// The examples of the S3 documentation ("Signature Calculations for the
// Authorization Header", "Authenticating Requests: Using Query Parameters").
func TestS3DocExamples(t *testing.T) {
	const authPrefix = "Authorization: AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
	cases := []struct {
		name    string
		lines   []string
		payload string
	}{
		{"GET object with Range", []string{
			"GET /test.txt HTTP/1.1",
			"Host: examplebucket.s3.amazonaws.com",
			authPrefix + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
			"Range: bytes=0-9",
			"x-amz-content-sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
			"x-amz-date: 20130524T000000Z",
		}, emptySHA256},
		{"PUT object", []string{
			"PUT /test%24file.text HTTP/1.1",
			"Host: examplebucket.s3.amazonaws.com",
			"Date: Fri, 24 May 2013 00:00:00 GMT",
			authPrefix + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
			"x-amz-date: 20130524T000000Z",
			"x-amz-storage-class: REDUCED_REDUNDANCY",
			"x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
			"Content-Length: 21",
		}, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
		{"PUT object, $ unescaped on the wire", []string{
			"PUT /test$file.text HTTP/1.1",
			"Host: examplebucket.s3.amazonaws.com",
			"Date: Fri, 24 May 2013 00:00:00 GMT",
			authPrefix + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class,Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
			"x-amz-date: 20130524T000000Z",
			"x-amz-storage-class: REDUCED_REDUNDANCY",
			"x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
		}, "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"},
		{"GET bucket lifecycle", []string{
			"GET /?lifecycle HTTP/1.1",
			"Host: examplebucket.s3.amazonaws.com",
			authPrefix + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
			"x-amz-date: 20130524T000000Z",
			"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		}, emptySHA256},
		{"GET bucket list objects", []string{
			"GET /?max-keys=2&prefix=J HTTP/1.1",
			"Host: examplebucket.s3.amazonaws.com",
			authPrefix + "SignedHeaders=host;x-amz-content-sha256;x-amz-date,Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
			"x-amz-date: 20130524T000000Z",
			"x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		}, emptySHA256},
		{"presigned GET", []string{
			"GET /test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404 HTTP/1.1",
			"Host: examplebucket.s3.amazonaws.com",
		}, UnsignedPayload},
	}
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(docAK, docSecret), Now: func() time.Time { return docTime }}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := parseRaw(t, tc.lines...)
			a, err := v.Verify(r)
			if err != nil {
				t.Fatalf("verify: %v\ncanonical request:\n%s", err, debugCanonical(t, v, r, ""))
			}
			if a.AccessKey != docAK || a.PayloadHash != tc.payload || a.Streaming() {
				t.Fatalf("auth = %+v", a)
			}
			if a.Presigned != strings.Contains(tc.name, "presigned") {
				t.Fatalf("Presigned = %v", a.Presigned)
			}
		})
	}
}
