package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

func TestAuthenticationErrors(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("auth")
	cases := []struct {
		name   string
		prep   func(*http.Request)
		status int
		code   string
		detail []string // elements AWS adds to the error body
	}{
		{"anonymous", func(r *http.Request) {}, 403, "AccessDenied", nil},
		{"wrong secret", func(r *http.Request) { sign(t, r, nil, testAK, "wrong", time.Now()) }, 403, "SignatureDoesNotMatch",
			[]string{"<AWSAccessKeyId>" + testAK + "</AWSAccessKeyId>", "<StringToSign>AWS4-HMAC-SHA256&#xA;", "<SignatureProvided>"}},
		{"unknown key", func(r *http.Request) { sign(t, r, nil, "nobody", testSK, time.Now()) }, 403, "InvalidAccessKeyId",
			[]string{"<AWSAccessKeyId>nobody</AWSAccessKeyId>"}},
		{"skew past", func(r *http.Request) { sign(t, r, nil, testAK, testSK, time.Now().Add(-16*time.Minute)) }, 403, "RequestTimeTooSkewed", nil},
		{"skew future", func(r *http.Request) { sign(t, r, nil, testAK, testSK, time.Now().Add(16*time.Minute)) }, 403, "RequestTimeTooSkewed", nil},
		{"tampered after signing", func(r *http.Request) {
			sign(t, r, nil, testAK, testSK, time.Now())
			r.URL.Path = "/auth/other"
		}, 403, "SignatureDoesNotMatch", []string{"<StringToSign>"}},
		{"malformed header", func(r *http.Request) {
			r.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=garbage")
			r.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
			r.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
		}, 400, "AuthorizationHeaderMalformed", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := e.rawRequest("GET", "/auth/key", nil)
			c.prep(req)
			resp, body := e.send(req)
			wantError(t, resp, body, c.status, c.code)
			if strings.Contains(string(body), testSK) || strings.Contains(string(body), "<CanonicalRequest>") {
				t.Errorf("secret or canonical request (header values) in error body: %s", body)
			}
			for _, d := range c.detail {
				if !strings.Contains(string(body), d) {
					t.Errorf("error body lacks %s: %s", d, body)
				}
			}
		})
	}
}

func TestPresignedURLs(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("pre")
	e.put("pre", "k", []byte("hello"))
	ps := s3.NewPresignClient(e.s3)
	req, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("k")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(req.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("presigned GET: %d", resp.StatusCode)
	}
	put, err := ps.PresignPutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("pre"), Key: aws.String("up")}, s3.WithPresignExpires(time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	preq, _ := http.NewRequest("PUT", put.URL, strings.NewReader("via presign"))
	for k, v := range put.SignedHeader {
		preq.Header[k] = v
	}
	if resp, body := e.send(preq); resp.StatusCode != 200 {
		t.Errorf("presigned PUT: %d %s", resp.StatusCode, body)
	}
	if got := string(e.get("pre", "up")); got != "via presign" {
		t.Errorf("presigned PUT stored %q", got)
	}
	// Expired: signed two hours ago for one hour.
	old, err := ps.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("pre"), Key: aws.String("k")},
		s3.WithPresignExpires(time.Hour), func(o *s3.PresignOptions) {
			o.Presigner = presignAt{v4.NewSigner(), time.Now().Add(-2 * time.Hour)}
		})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := http.NewRequest("GET", old.URL, nil)
	resp2, body := e.send(r2)
	wantError(t, resp2, body, 403, "AccessDenied")
	// Longer than a week.
	long := strings.Replace(req.URL, "X-Amz-Expires=60", "X-Amz-Expires=604801", 1)
	r3, _ := http.NewRequest("GET", long, nil)
	resp3, body := e.send(r3)
	if resp3.StatusCode == 200 {
		t.Errorf("X-Amz-Expires over a week accepted: %s", body)
	}
}

// presignAt presigns as of a fixed time.
type presignAt struct {
	s  *v4.Signer
	at time.Time
}

func (p presignAt) PresignHTTP(ctx context.Context, creds aws.Credentials, r *http.Request, payloadHash, service, region string, _ time.Time, opts ...func(*v4.SignerOptions)) (string, http.Header, error) {
	return p.s.PresignHTTP(ctx, creds, r, payloadHash, service, region, p.at, opts...)
}

func TestHostileKeys(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("keys")
	for _, path := range []string{
		"/keys/../etc/passwd",
		"/keys/a/../../b",
		"/keys/a/./b",
		"/keys//absolute",
		"/keys/nul%00byte",
	} {
		resp, body := e.do("PUT", path, []byte("x"), nil)
		wantError(t, resp, body, 400, "InvalidArgument")
	}
	resp, body := e.do("PUT", "/keys/bad%FFutf8", []byte("x"), nil)
	wantError(t, resp, body, 400, "InvalidURI")
	resp, body = e.do("PUT", "/keys/"+strings.Repeat("k", 1025), []byte("x"), nil)
	wantError(t, resp, body, 400, "KeyTooLongError")
	// Nothing was stored, and the server still serves.
	list, err := e.s3.ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String("keys")})
	if err != nil || len(list.Contents) != 0 {
		t.Errorf("after hostile keys: %v, %d objects", err, len(list.Contents))
	}
}

func TestHostileBodies(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("bodies")
	cases := []struct {
		name   string
		method string
		path   string
		body   []byte
		hdr    map[string]string
		status int
		code   string
	}{
		{"malformed delete xml", "POST", "/bodies?delete", []byte("<Delete><Object>"), nil, 400, "MalformedXML"},
		{"oversized delete xml", "POST", "/bodies?delete", bytes.Repeat([]byte("<a/>"), 1<<20), nil, 400, "MaxMessageLengthExceeded"},
		{"malformed complete xml", "POST", "/bodies/k?uploadId=x", []byte("not xml"), nil, 404, "NoSuchUpload"},
		{"malformed create bucket xml", "PUT", "/newbucket", []byte("<CreateBucketConfiguration>"), nil, 400, "MalformedXML"},
		{"bad content-md5", "PUT", "/bodies/k", []byte("data"), map[string]string{"Content-MD5": "not-base64!"}, 400, "InvalidDigest"},
		{"wrong content-md5", "PUT", "/bodies/k", []byte("data"), map[string]string{"Content-MD5": "1B2M2Y8AsgTpgAmY7PhCfg=="}, 400, "BadDigest"},
		{"wrong crc32", "PUT", "/bodies/k", []byte("data"), map[string]string{"x-amz-checksum-crc32": "AAAAAA=="}, 400, "BadDigest"},
		{"wrong sha256", "PUT", "/bodies/k", []byte("data"), map[string]string{"x-amz-checksum-sha256": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="}, 400, "BadDigest"},
		{"wrong crc64nvme", "PUT", "/bodies/k", []byte("data"), map[string]string{"x-amz-checksum-crc64nvme": "AAAAAAAAAAA="}, 400, "BadDigest"},
		{"sdk algorithm differs", "PUT", "/bodies/k", []byte("data"), map[string]string{"x-amz-sdk-checksum-algorithm": "CRC32C", "x-amz-checksum-crc32": "AAAAAA=="}, 400, "InvalidRequest"},
		{"bad storage class", "PUT", "/bodies/k", []byte("data"), map[string]string{"x-amz-storage-class": "PLATINUM"}, 400, "InvalidStorageClass"},
		{"put to missing bucket", "PUT", "/nobucket/k", []byte("data"), nil, 404, "NoSuchBucket"},
		{"object lock header, bucket without lock", "PUT", "/bodies/k", []byte("data"), map[string]string{"x-amz-object-lock-legal-hold": "ON"}, 400, "InvalidRequest"},
		{"big metadata", "PUT", "/bodies/k", []byte("data"), map[string]string{"x-amz-meta-big": strings.Repeat("m", 2100)}, 400, "MetadataTooLarge"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.do(c.method, c.path, c.body, c.hdr)
			wantError(t, resp, body, c.status, c.code)
		})
	}
	// The signed payload hash is checked: sign one body, send another.
	req := e.rawRequest("PUT", "/bodies/k", []byte("other"))
	sign(t, req, []byte("signed"), testAK, testSK, time.Now())
	req.ContentLength = 5
	resp, body := e.send(req)
	wantError(t, resp, body, 400, "XAmzContentSHA256Mismatch")
	for _, d := range []string{"<ClientComputedContentSHA256>" + hexSHA256("signed") + "</ClientComputedContentSHA256>",
		"<S3ComputedContentSHA256>" + hexSHA256("other") + "</S3ComputedContentSHA256>"} {
		if !strings.Contains(string(body), d) {
			t.Errorf("error body lacks %s: %s", d, body)
		}
	}
	if _, err := e.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("bodies"), Key: aws.String("k")}); apiCode(err) != "NotFound" {
		t.Errorf("a rejected body was stored: %v", err)
	}
}

// chunkedRequest builds an aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER PUT.
func chunkedRequest(t *testing.T, e *testEnv, path string, framed string, decodedLen int) *http.Request {
	req := e.rawRequest("PUT", path, []byte(framed))
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Decoded-Content-Length", fmt.Sprint(decodedLen))
	req.Header.Set("X-Amz-Trailer", "x-amz-checksum-crc32")
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, req,
		"STREAMING-UNSIGNED-PAYLOAD-TRAILER", "s3", testRegion, time.Now()); err != nil {
		t.Fatal(err)
	}
	return req
}

func TestChunkedBodies(t *testing.T) {
	e := newEnv(t)
	e.mkBucket("chunk")
	// crc32("hello world") = 0x0d4a1185 → base64 DUoRhQ==
	good := "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n"
	resp, body := e.send(chunkedRequest(t, e, "/chunk/good", good, 11))
	if resp.StatusCode != 200 {
		t.Fatalf("good chunked PUT: %d %s", resp.StatusCode, body)
	}
	if got := string(e.get("chunk", "good")); got != "hello world" {
		t.Fatalf("stored %q: framing leaked into the object", got)
	}
	head, _ := e.do("HEAD", "/chunk/good", nil, nil)
	if strings.Contains(head.Header.Get("Content-Encoding"), "aws-chunked") {
		t.Errorf("aws-chunked persisted as Content-Encoding")
	}
	for _, c := range []struct {
		name, framed string
		decoded      int
		code         string
	}{
		{"truncated mid-chunk", "b\r\nhello", 11, "IncompleteBody"},
		{"short of decoded length", "5\r\nhello\r\n0\r\nx-amz-checksum-crc32:NhCmhg==\r\n\r\n", 11, "IncompleteBody"},
		{"bad trailer checksum", "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n", 11, "BadDigest"},
		{"declared trailer missing", "b\r\nhello world\r\n0\r\n\r\n", 11, "MalformedTrailerError"},
		{"trailer of another algorithm", "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32c:AAAAAA==\r\n\r\n", 11, "MalformedTrailerError"},
		{"trailer line without colon", "b\r\nhello world\r\n0\r\nx-amz-checksum-crc32 DUoRhQ==\r\n\r\n", 11, "MalformedTrailerError"},
		{"garbage chunk size", "zz\r\nhello world\r\n0\r\n\r\n", 11, "IncompleteBody"},
		{"small chunk not last", "5\r\nhello\r\n6\r\n world\r\n0\r\nx-amz-checksum-crc32:DUoRhQ==\r\n\r\n", 11, "InvalidChunkSizeError"},
	} {
		t.Run(c.name, func(t *testing.T) {
			resp, body := e.send(chunkedRequest(t, e, "/chunk/bad", c.framed, c.decoded))
			wantError(t, resp, body, 400, c.code)
		})
	}
	if _, err := e.s3.HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String("chunk"), Key: aws.String("bad")}); apiCode(err) != "NotFound" {
		t.Errorf("a bad chunked body was stored: %v", err)
	}
}

// TestBodyTransportErrors: a body the HTTP layer cannot read (malformed
// Transfer-Encoding: chunked framing, a client too slow for the server's
// read timeout) is the client's failure: an S3 400, never an InternalError.
func TestBodyTransportErrors(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout = 500 * time.Millisecond
	srv.Start()
	defer srv.Close()
	if err := st.CreateBucket(context.Background(), "transport"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, framing, body string
		closeWrite          bool // the client stops sending
		code                string
	}{
		{"malformed chunked framing", "Transfer-Encoding: chunked", "zz\r\nhello\r\n0\r\n\r\n", false, "IncompleteBody"},
		{"chunked framing cut short", "Transfer-Encoding: chunked", "5\r\nhel", true, "IncompleteBody"},
		{"body slower than the read timeout", "Content-Length: 100", "hello", false, "RequestTimeout"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest("PUT", srv.URL+"/transport/k", nil)
			req.Header.Set("X-Amz-Content-Sha256", "UNSIGNED-PAYLOAD")
			if err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: testAK, SecretAccessKey: testSK}, req,
				"UNSIGNED-PAYLOAD", "s3", testRegion, time.Now()); err != nil {
				t.Fatal(err)
			}
			conn, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			var head strings.Builder
			fmt.Fprintf(&head, "PUT /transport/k HTTP/1.1\r\nHost: %s\r\n%s\r\n", req.Host, c.framing)
			_ = req.Header.Write(&head)
			head.WriteString("\r\n" + c.body)
			if _, err := io.WriteString(conn, head.String()); err != nil {
				t.Fatal(err)
			}
			if c.closeWrite {
				_ = conn.(*net.TCPConn).CloseWrite()
			}
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			wantError(t, resp, body, 400, c.code)
		})
	}
	if _, err := st.HeadObject(context.Background(), "transport", "k"); err == nil {
		t.Errorf("a body that could not be read was stored")
	}
}

func hexSHA256(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
