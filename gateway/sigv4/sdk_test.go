package sigv4

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	miniosigner "github.com/minio/minio-go/v7/pkg/signer"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Real clients' signers against the verifier, over a real HTTP connection.

const (
	testAK     = "AKIATESTKEY0000001"
	testSecret = "test/secret+key/with+slashes0000000000000"
)

// sdkSigner signs like the S3 client of aws-sdk-go-v2, which escapes the
// path itself (httpbinding.EscapePath) and so disables the signer's escaping.
var sdkSigner = v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })

var sdkCreds = aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSecret}

// serverResult is what the handler saw.
type serverResult struct {
	auth       *Auth
	err        error
	body       []byte
	bodyErr    error
	trailer    http.Header
	requestURI string
}

func newTestServer(t *testing.T, v *Verifier) (*httptest.Server, chan serverResult) {
	t.Helper()
	ch := make(chan serverResult, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		res := serverResult{requestURI: r.RequestURI}
		res.auth, res.err = v.Verify(r)
		if res.err == nil {
			if res.auth.Streaming() {
				cr := NewChunkedReader(r.Body, res.auth)
				res.body, res.bodyErr = io.ReadAll(cr)
				res.trailer = cr.Trailer()
			} else {
				res.body, res.bodyErr = io.ReadAll(r.Body)
			}
		}
		ch <- res
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func send(t *testing.T, srv *httptest.Server, ch chan serverResult, req *http.Request) serverResult {
	t.Helper()
	c := srv.Client()
	c.Timeout = 20 * time.Second
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	resp.Body.Close()
	return <-ch
}

// Object keys that commonly break canonical URIs.
var testKeys = []string{
	"plain.txt",
	"with space.txt",
	"unicode/ключ/日本語 ü.txt",
	"plus+sign+",
	"percent%2Fliteral%25%",
	"tilde~eq=amp&semi;",
	"dots/../and//double/./x",
	"emoji😀",
	"specials !'()*,:@$",
	"question?hash#",
	"brackets[]{}|^`\"<>\\",
	"trailing/",
}

// Raw query strings as clients send them.
var testQueries = []string{
	"",
	"prefix=a%20b&max-keys=2",
	"uploads",
	"tagging=",
	"list-type=2&continuation-token=a%2Bb%2Fc%3D&prefix=%E6%97%A5",
	"versionId=3%2F4&partNumber=1",
	"prefix=a+b&delimiter=%2F",
	"b=2&a=1&a=0&A=3",
	"response-content-disposition=attachment%3B%20filename%3D%22x%20y.txt%22",
}

// sdkURL builds the URL the way the S3 client does for a path-style key.
func sdkURL(base, bucket, key, rawQuery string) *url.URL {
	u, _ := url.Parse(base)
	u.Path = "/" + bucket + "/" + key
	u.RawPath = "/" + bucket + "/" + httpbinding.EscapePath(key, false)
	u.RawQuery = rawQuery
	return u
}

func flipLastHex(s string) string {
	b := []byte(s)
	i := len(b) - 1
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
	return string(b)
}

func TestAWSSDKHeaderSigning(t *testing.T) {
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret)}
	srv, ch := newTestServer(t, v)
	body := []byte("hello, world")
	for _, key := range testKeys {
		for _, q := range testQueries {
			for _, method := range []string{http.MethodGet, http.MethodPut} {
				mk := func() *http.Request {
					req, _ := http.NewRequest(method, srv.URL, nil)
					req.URL = sdkURL(srv.URL, "bucket", key, q)
					payload := UnsignedPayload
					if method == http.MethodPut {
						req.Body = io.NopCloser(bytes.NewReader(body))
						req.ContentLength = int64(len(body))
						payload = sha256Hex(string(body))
						req.Header.Set("Content-Type", "text/plain")
						req.Header.Set("X-Amz-Meta-Note", "  spaced   value  ")
						req.Header.Set("X-Amz-Meta-Unicode", "ü")
					}
					req.Header.Set("X-Amz-Content-Sha256", payload)
					if err := sdkSigner.SignHTTP(context.Background(), sdkCreds, req, payload, "s3", "us-east-1", time.Now()); err != nil {
						t.Fatal(err)
					}
					return req
				}
				res := send(t, srv, ch, mk())
				if res.err != nil {
					t.Fatalf("%s key %q query %q (sent %s): %v", method, key, q, res.requestURI, res.err)
				}
				if res.auth.AccessKey != testAK || res.auth.Presigned {
					t.Fatalf("auth = %+v", res.auth)
				}
				if method == http.MethodPut && (res.auth.PayloadHash != sha256Hex(string(body)) || !bytes.Equal(res.body, body)) {
					t.Fatalf("payload %q body %q", res.auth.PayloadHash, res.body)
				}

				req := mk()
				req.Header.Set("Authorization", flipLastHex(req.Header.Get("Authorization")))
				if res := send(t, srv, ch, req); !errors.Is(res.err, s3err.SignatureDoesNotMatch) {
					t.Fatalf("%s key %q query %q flipped signature: %v", method, key, q, res.err)
				}
			}
		}
	}
}

func TestAWSSDKPresign(t *testing.T) {
	v := &Verifier{Region: "eu-west-3", Lookup: lookupOf(testAK, testSecret)}
	srv, ch := newTestServer(t, v)
	for _, key := range testKeys {
		for _, q := range testQueries {
			for _, method := range []string{http.MethodGet, http.MethodPut} {
				req, _ := http.NewRequest(method, srv.URL, nil)
				req.URL = sdkURL(srv.URL, "bucket", key, q)
				qv := req.URL.Query()
				qv.Set("X-Amz-Expires", "900")
				req.URL.RawQuery = strings.ReplaceAll(qv.Encode(), "+", "%20")
				if method == http.MethodPut {
					req.Header.Set("X-Amz-Meta-Owner", "someone")
					req.Header.Set("Content-Type", "application/octet-stream")
				}
				signedURL, signedHeaders, err := sdkSigner.PresignHTTP(context.Background(), sdkCreds, req, UnsignedPayload, "s3", "eu-west-3", time.Now())
				if err != nil {
					t.Fatal(err)
				}
				mk := func(u string) *http.Request {
					out, err := http.NewRequest(method, u, nil)
					if err != nil {
						t.Fatal(err)
					}
					for k, vs := range signedHeaders {
						if k != "Host" {
							out.Header[k] = vs
						}
					}
					if method == http.MethodPut {
						out.Body = io.NopCloser(strings.NewReader("data"))
						out.ContentLength = 4
					}
					return out
				}
				res := send(t, srv, ch, mk(signedURL))
				if res.err != nil {
					t.Fatalf("%s key %q query %q (sent %s): %v", method, key, q, res.requestURI, res.err)
				}
				if !res.auth.Presigned || res.auth.PayloadHash != UnsignedPayload || res.auth.AccessKey != testAK {
					t.Fatalf("auth = %+v", res.auth)
				}
				if res := send(t, srv, ch, mk(flipLastHex(signedURL))); !errors.Is(res.err, s3err.SignatureDoesNotMatch) {
					t.Fatalf("flipped presigned signature: %v", res.err)
				}
				if res := send(t, srv, ch, mk(signedURL+"&x-id=Other")); !errors.Is(res.err, s3err.SignatureDoesNotMatch) {
					t.Fatalf("added query parameter: %v", res.err)
				}
			}
		}
	}
}

// minio-go's signers (SignV4, PreSignV4, StreamingSignV4, SignV4Trailer)
// use the current time, so the verifier uses the real clock too.
type sha256Hasher struct{ hash.Hash }

func (sha256Hasher) Close() {}

func minioURL(base, bucket, key, rawQuery string) *url.URL {
	u, _ := url.Parse(base)
	u.Path = "/" + bucket + "/" + key
	u.RawPath = s3utils.EncodePath(u.Path)
	u.RawQuery = rawQuery
	return u
}

func TestMinioSignV4(t *testing.T) {
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret)}
	srv, ch := newTestServer(t, v)
	for _, key := range testKeys {
		for _, q := range testQueries {
			if q == "b=2&a=1&a=0&A=3" {
				// minio-go keeps repeated parameters in request order instead
				// of sorting them by value as SigV4 requires; S3 APIs never
				// repeat a parameter.
				continue
			}
			req, _ := http.NewRequest(http.MethodPut, srv.URL, nil)
			req.URL = minioURL(srv.URL, "bucket", key, q)
			req.Body = io.NopCloser(strings.NewReader("minio body"))
			req.ContentLength = 10
			req.Header.Set("X-Amz-Content-Sha256", sha256Hex("minio body"))
			req.Header.Set("X-Amz-Meta-K", "v  w")
			signed := miniosigner.SignV4(*req, testAK, testSecret, "", "us-east-1")
			res := send(t, srv, ch, signed)
			if res.err != nil {
				t.Fatalf("key %q query %q (sent %s): %v", key, q, res.requestURI, res.err)
			}
			if string(res.body) != "minio body" {
				t.Fatalf("body %q", res.body)
			}

			get, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
			get.URL = minioURL(srv.URL, "bucket", key, q)
			pre := miniosigner.PreSignV4(*get, testAK, testSecret, "", "us-east-1", 3600)
			res = send(t, srv, ch, pre)
			if res.err != nil || !res.auth.Presigned {
				t.Fatalf("presigned key %q query %q (sent %s): %v", key, q, res.requestURI, res.err)
			}
			bad, _ := http.NewRequest(http.MethodGet, flipLastHex(pre.URL.String()), nil)
			if res := send(t, srv, ch, bad); !errors.Is(res.err, s3err.SignatureDoesNotMatch) {
				t.Fatalf("flipped presigned signature: %v", res.err)
			}
		}
	}
}

func TestMinioStreaming(t *testing.T) {
	v := &Verifier{Region: "us-east-1", Lookup: lookupOf(testAK, testSecret)}
	srv, ch := newTestServer(t, v)
	for _, size := range []int{1, 100, 65536, 65537, 200000} {
		data := pattern(size)
		for _, mode := range []string{StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer} {
			mk := func(body io.Reader) *http.Request {
				req, _ := http.NewRequest(http.MethodPut, srv.URL, nil)
				req.URL = minioURL(srv.URL, "bucket", "stream/obj ü+", "")
				req.Body = io.NopCloser(body)
				req.ContentLength = int64(size)
				req.Header.Set("X-Amz-Meta-Mode", mode)
				trailer := http.Header{"x-amz-checksum-crc32": {"sOO8/Q=="}}
				switch mode {
				case StreamingSigned:
					return miniosigner.StreamingSignV4(req, testAK, testSecret, "", "us-east-1", int64(size), time.Now().UTC(), sha256Hasher{sha256.New()})
				case StreamingSignedTrailer:
					req.Trailer = trailer
					return miniosigner.StreamingSignV4(req, testAK, testSecret, "", "us-east-1", int64(size), time.Now().UTC(), sha256Hasher{sha256.New()})
				default:
					req.Header.Set("X-Amz-Content-Sha256", StreamingUnsignedTrailer)
					return miniosigner.SignV4Trailer(*req, testAK, testSecret, "", "us-east-1", trailer)
				}
			}
			res := send(t, srv, ch, mk(bytes.NewReader(data)))
			if res.err != nil {
				t.Fatalf("%s %d: verify: %v", mode, size, res.err)
			}
			if res.auth.PayloadHash != mode {
				t.Fatalf("%s %d: payload %q", mode, size, res.auth.PayloadHash)
			}
			if res.bodyErr != nil || !bytes.Equal(res.body, data) {
				t.Fatalf("%s %d: body error %v, %d bytes", mode, size, res.bodyErr, len(res.body))
			}
			if mode != StreamingSigned && res.trailer.Get("X-Amz-Checksum-Crc32") != "sOO8/Q==" {
				t.Fatalf("%s %d: trailer %v", mode, size, res.trailer)
			}
			if mode == StreamingUnsignedTrailer {
				continue
			}
			// Tamper with one byte of the encoded body in flight.
			req := mk(bytes.NewReader(data))
			firstHeader := len(strconv.FormatInt(int64(min(size, 65536)), 16)) + len(";chunk-signature=") + 64 + 2
			req.Body = io.NopCloser(&flipAt{r: req.Body, at: int64(firstHeader + size/2)})
			res = send(t, srv, ch, req)
			if res.err != nil || !errors.Is(res.bodyErr, s3err.SignatureDoesNotMatch) {
				t.Fatalf("%s %d: tampered body: verify %v, body %v", mode, size, res.err, res.bodyErr)
			}
		}
	}
}

// flipAt flips one byte of the stream at offset at.
type flipAt struct {
	r   io.Reader
	at  int64
	off int64
}

func (f *flipAt) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if f.at >= f.off && f.at < f.off+int64(n) {
		p[f.at-f.off] ^= 0x20
	}
	f.off += int64(n)
	return n, err
}
