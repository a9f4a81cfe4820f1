package gateway_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/minio-go/v7"
	miniocreds "github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

const (
	testAK     = "accesskey"
	testSK     = "secretkey"
	testRegion = "us-east-1"
)

// testEnv is an in-process gateway on the embedded store with real clients.
type testEnv struct {
	t     *testing.T
	h     *gateway.Handler
	srv   *httptest.Server
	s3    *s3.Client
	minio *minio.Client
}

func newEnv(t *testing.T) *testEnv {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: testRegion})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cli := s3.New(s3.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(srv.URL),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(testAK, testSK, ""),
	})
	mc, err := minio.New(strings.TrimPrefix(srv.URL, "http://"), &minio.Options{
		Creds:  miniocreds.NewStaticV4(testAK, testSK, ""),
		Region: testRegion,
	})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, h: h, srv: srv, s3: cli, minio: mc}
}

func (e *testEnv) mkBucket(name string) {
	e.t.Helper()
	if _, err := e.s3.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		e.t.Fatalf("CreateBucket %s: %v", name, err)
	}
}

func (e *testEnv) put(bucket, key string, data []byte) {
	e.t.Helper()
	if _, err := e.s3.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(data)}); err != nil {
		e.t.Fatalf("PutObject %s/%s: %v", bucket, key, err)
	}
}

func (e *testEnv) get(bucket, key string) []byte {
	e.t.Helper()
	out, err := e.s3.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		e.t.Fatalf("GetObject %s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return b
}

// rawRequest builds a request to the gateway; path is sent as given.
func (e *testEnv) rawRequest(method, path string, body []byte) *http.Request {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if body == nil {
		req.Body = http.NoBody
	}
	return req
}

// newS3Signer signs as S3 clients do: the path is not escaped a second time.
// Make one per signature: the SDK caches derived keys per access key, not
// per secret, so a shared signer would reuse a wrong secret's key.
func newS3Signer() *v4.Signer {
	return v4.NewSigner(func(o *v4.SignerOptions) { o.DisableURIPathEscaping = true })
}

// sign signs req with SigV4 (header form) as the SDK would, at time now.
func sign(t *testing.T, req *http.Request, body []byte, ak, sk string, now time.Time) {
	t.Helper()
	sum := sha256.Sum256(body)
	hash := hex.EncodeToString(sum[:])
	req.Header.Set("X-Amz-Content-Sha256", hash)
	err := newS3Signer().SignHTTP(context.Background(), aws.Credentials{AccessKeyID: ak, SecretAccessKey: sk}, req, hash, "s3", testRegion, now)
	if err != nil {
		t.Fatal(err)
	}
}

// do sends a signed raw request and returns the response and its body.
func (e *testEnv) do(method, path string, body []byte, hdr map[string]string) (*http.Response, []byte) {
	e.t.Helper()
	req := e.rawRequest(method, path, body)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	sign(e.t, req, body, testAK, testSK, time.Now())
	return e.send(req)
}

func (e *testEnv) send(req *http.Request) (*http.Response, []byte) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// s3Error is the XML error body.
type s3Error struct {
	Code      string
	Message   string
	RequestID string `xml:"RequestId"`
}

// wantError asserts an S3 XML error with the status and code.
func wantError(t *testing.T, resp *http.Response, body []byte, status int, code string) {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if resp.Header.Get("x-amz-request-id") == "" {
		t.Errorf("no x-amz-request-id header")
	}
	if resp.Request.Method == http.MethodHead {
		return
	}
	var e s3Error
	if err := xml.Unmarshal(body, &e); err != nil {
		t.Fatalf("error body is not S3 XML: %v: %q", err, body)
	}
	if e.Code != code {
		t.Errorf("code = %q, want %q (message %q)", e.Code, code, e.Message)
	}
	if e.RequestID != resp.Header.Get("x-amz-request-id") {
		t.Errorf("RequestId %q differs from header %q", e.RequestID, resp.Header.Get("x-amz-request-id"))
	}
}

// randBytes returns n deterministic pseudo-random bytes.
func randBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

// rawResponse sends a signed request and returns the response head exactly
// as it came over the wire (Go's client would canonicalise header names).
func (e *testEnv) rawResponse(method, path string) string {
	e.t.Helper()
	req := e.rawRequest(method, path, nil)
	sign(e.t, req, nil, testAK, testSK, time.Now())
	conn, err := net.Dial("tcp", e.srv.Listener.Addr().String())
	if err != nil {
		e.t.Fatal(err)
	}
	defer conn.Close()
	req.Close = true
	if err := req.Write(conn); err != nil {
		e.t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var buf bytes.Buffer
	_, _ = io.Copy(&buf, conn)
	head, _, _ := strings.Cut(buf.String(), "\r\n\r\n")
	return head + "\r\n"
}
