package caddy

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/s3/manager"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/quic-go/quic-go/http3"

	"github.com/lambda/storagecli/internal/testproc"
)

// caddyServer is a running Caddy serving one order over HTTPS.
type caddyServer struct {
	proc      *testproc.Proc
	endpoint  string // https://localhost:<port>
	caFile    string // Caddy's internal root certificate
	client    *http.Client
	pool      *x509.CertPool // trusts caFile
	home      string
	accessLog string
	ak, sk    string
}

// startCaddy writes a user.toml and a Caddyfile and runs the built Caddy
// on them: one site on a free loopback port with `tls internal`, the
// access log of Caddyfile.example, and x-amz-meta-build_id listed in
// expected_underscore_headers as Caddyfile.example does.
func startCaddy(t *testing.T) *caddyServer {
	t.Helper()
	bin := buildBinary(t, "caddy")
	dir := t.TempDir()
	s := &caddyServer{accessLog: filepath.Join(dir, "access.log"), ak: "e2e-ak", sk: "e2e-secret-key"}
	cfg := filepath.Join(dir, "user.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[gateway]\naccess_key = %q\nsecret_key = \"from-the-file\"\n\n[broker]\nextra_order_id = \"e2e\"\ndb_path = %q\n",
		s.ak, filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	site := fmt.Sprintf(`%s
	s3gateway {
		config %s
		secret_key {env.E2E_S3_SECRET}
		access_key %s
	}`, exampleLogBlock(t), cfg, s.ak)
	c := testproc.StartCaddy(t, bin, dir, "expected_underscore_headers x-amz-meta-build_id", site,
		[]string{"E2E_S3_SECRET=" + s.sk, "S3_ACCESS_LOG=" + s.accessLog})
	s.proc, s.endpoint, s.caFile, s.pool, s.client, s.home = c.Proc, c.Endpoint, c.CAFile, c.Pool, c.Client, c.Home
	return s
}

// sdkClient returns an aws-sdk-go-v2 client for endpoint.
func sdkClient(hc *http.Client, endpoint, ak, sk string) *s3.Client {
	return s3.New(s3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, ""),
		HTTPClient:   hc,
	})
}

// TestCaddyTLS runs the built Caddy with `tls internal` and checks the
// seed's aws cli session with --ca-bundle, boto3 over TLS (100 MB with the
// default settings, unseekable streams, metadata with '_'), HTTP/2,
// aws-sdk-go-v2 over HTTP/3, and the access log.
func TestCaddyTLS(t *testing.T) {
	requireAWS(t)
	requireBoto3(t)
	s := startCaddy(t)
	env := clientEnv(s.home, s.ak, s.sk, s.caFile)

	t.Run("http2", func(t *testing.T) {
		resp, err := s.client.Get(s.endpoint + "/")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 2 || resp.TLS == nil || resp.TLS.NegotiatedProtocol != "h2" {
			t.Errorf("protocol %s (ALPN %q), want HTTP/2", resp.Proto, resp.TLS.NegotiatedProtocol)
		}
		if !strings.Contains(resp.Header.Get("Alt-Svc"), "h3=") {
			t.Errorf("Alt-Svc = %q, want HTTP/3 advertised", resp.Header.Get("Alt-Svc"))
		}
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) {
			t.Errorf("anonymous request: %s %s, want an S3 AccessDenied", resp.Status, body)
		}
	})

	t.Run("http3", func(t *testing.T) {
		tr := &http3.Transport{TLSClientConfig: &tls.Config{RootCAs: s.pool}}
		defer tr.Close()
		hc := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
		resp, err := hc.Get(s.endpoint + "/")
		if err != nil {
			t.Fatalf("GET over HTTP/3: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.ProtoMajor != 3 {
			t.Errorf("protocol %s, want HTTP/3", resp.Proto)
		}
		if resp.StatusCode != http.StatusForbidden || !bytes.Contains(body, []byte("<Code>AccessDenied</Code>")) || resp.Header.Get("x-amz-request-id") == "" {
			t.Errorf("anonymous request over HTTP/3: %s %s, want an S3 AccessDenied with a request id", resp.Status, body)
		}

		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cli := sdkClient(hc, s.endpoint, s.ak, s.sk)
		bucket := aws.String("h3test")
		if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: bucket}); err != nil {
			t.Fatal(err)
		}
		// The SDK's defaults over HTTPS: aws-chunked bodies with a
		// trailing CRC32, and the uploader's parts on concurrent streams
		// of one QUIC connection.
		small := make([]byte, 1<<20+3)
		large := make([]byte, 17<<20+5)
		for _, b := range [][]byte{small, large} {
			if _, err := rand.Read(b); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("small"), Body: bytes.NewReader(small)}); err != nil {
			t.Fatalf("PutObject over HTTP/3: %v", err)
		}
		up := manager.NewUploader(cli, func(u *manager.Uploader) { u.PartSize = 5 << 20 })
		if _, err := up.Upload(ctx, &s3.PutObjectInput{Bucket: bucket, Key: aws.String("large"), Body: bytes.NewReader(large)}); err != nil {
			t.Fatalf("multipart upload over HTTP/3: %v", err)
		}
		for _, c := range []struct {
			key, rng string
			want     []byte
		}{
			{"small", "", small},
			{"large", "", large},
			{"large", "bytes=5242870-5242889", large[5242870:5242890]},
		} {
			in := &s3.GetObjectInput{Bucket: bucket, Key: aws.String(c.key)}
			if c.rng != "" {
				in.Range = aws.String(c.rng)
			}
			o, err := cli.GetObject(ctx, in)
			if err != nil {
				t.Fatalf("GetObject %s %s over HTTP/3: %v", c.key, c.rng, err)
			}
			got, err := io.ReadAll(o.Body)
			o.Body.Close()
			if err != nil || !bytes.Equal(got, c.want) {
				t.Errorf("GetObject %s %s over HTTP/3: %d bytes (%v), want the %d uploaded", c.key, c.rng, len(got), err, len(c.want))
			}
		}
		l, err := cli.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: bucket})
		if err != nil || len(l.Contents) != 2 || aws.ToInt64(l.Contents[0].Size) != int64(len(large)) {
			t.Errorf("ListObjectsV2 over HTTP/3: %+v, %v", l, err)
		}
		_, err = cli.GetObject(ctx, &s3.GetObjectInput{Bucket: bucket, Key: aws.String("missing")})
		var nsk *types.NoSuchKey
		if !errors.As(err, &nsk) {
			t.Errorf("GetObject of a missing key over HTTP/3: %v, want NoSuchKey", err)
		}
		for _, k := range []string{"small", "large"} {
			if _, err := cli.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: bucket, Key: aws.String(k)}); err != nil {
				t.Errorf("DeleteObject %s over HTTP/3: %v", k, err)
			}
		}
	})

	t.Run("awscli", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(dir, "your-file")
		data := make([]byte, 20<<20+777) // over the cli's 8 MB multipart threshold
		if _, err := rand.Read(data); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		aws := func(args ...string) string {
			return run(t, env, 3*time.Minute, "aws", append([]string{"s3", "--endpoint-url", s.endpoint, "--ca-bundle", s.caFile}, args...)...)
		}
		if out := aws("mb", "s3://awstest"); !strings.Contains(out, "make_bucket: awstest") {
			t.Errorf("mb: %q", out)
		}
		aws("cp", "--no-progress", src, "s3://awstest")
		if out := aws("ls", "s3://awstest"); !strings.Contains(out, fmt.Sprintf("%d your-file", len(data))) {
			t.Errorf("ls: %q", out)
		}
		dst := filepath.Join(dir, "new-file")
		aws("cp", "--no-progress", "s3://awstest/your-file", dst)
		if got, err := os.ReadFile(dst); err != nil || !bytes.Equal(got, data) {
			t.Errorf("downloaded file differs (%d bytes, %v)", len(got), err)
		}
		if out := aws("rm", "s3://awstest/your-file"); !strings.Contains(out, "delete: s3://awstest/your-file") {
			t.Errorf("rm: %q", out)
		}
		if out := aws("ls", "s3://awstest"); strings.TrimSpace(out) != "" {
			t.Errorf("ls after rm: %q", out)
		}
	})

	t.Run("boto3", func(t *testing.T) {
		script, err := filepath.Abs(filepath.Join("py", "boto3_tls.py"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "python3", script, s.endpoint, "boto3-tls", t.TempDir())
		cmd.Env = env
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		start := time.Now()
		runErr := cmd.Run()
		t.Logf("boto3_tls.py (%v)", time.Since(start).Round(time.Millisecond))
		lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
		var res struct {
			Failures []string       `json:"failures"`
			Facts    map[string]any `json:"facts"`
		}
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
			t.Fatalf("boto3_tls.py: %v, result %v\nstdout:\n%s\nstderr:\n%s", runErr, err, stdout.String(), stderr.String())
		}
		for _, f := range res.Failures {
			t.Errorf("boto3: %s", f)
		}
		if runErr != nil && len(res.Failures) == 0 {
			t.Errorf("boto3_tls.py failed without reporting why: %v\n%s", runErr, stderr.String())
		}
		if t.Failed() {
			t.Logf("stderr:\n%s", stderr.String())
		}
		t.Logf("boto3 facts: %v", res.Facts)
	})

	t.Run("access log", func(t *testing.T) {
		f, err := os.Open(s.accessLog)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		ops, h3ops := map[string]int{}, map[string]int{}
		for sc.Scan() {
			var e struct {
				UserID    string `json:"user_id"`
				Operation string `json:"s3_operation"`
				Status    int    `json:"status"`
				Request   struct {
					Proto string `json:"proto"`
				} `json:"request"`
			}
			if json.Unmarshal(sc.Bytes(), &e) != nil || e.Operation == "" {
				continue
			}
			ops[e.Operation]++
			if e.Request.Proto == "HTTP/3.0" {
				h3ops[e.Operation]++
			}
			if e.Status < 400 && e.UserID != s.ak {
				t.Errorf("%s answered %d with user_id %q, want the access key", e.Operation, e.Status, e.UserID)
			}
		}
		for _, op := range []string{"CreateBucket", "PutObject", "UploadPart", "CompleteMultipartUpload", "GetObject", "ListObjectsV2", "DeleteObject"} {
			if ops[op] == 0 {
				t.Errorf("no access log entry with s3_operation %s: %v", op, ops)
			}
		}
		for _, op := range []string{"PutObject", "UploadPart", "GetObject"} {
			if h3ops[op] == 0 {
				t.Errorf("no HTTP/3.0 access log entry with s3_operation %s: %v", op, h3ops)
			}
		}
	})
}

// TestCaddyfileExample checks that Caddyfile.example is formatted and
// passes `caddy adapt --validate` (which provisions the modules: it reads
// the user.toml and opens the stores, here in temporary directories).
func TestCaddyfileExample(t *testing.T) {
	bin := buildBinary(t, "caddy")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	if err := os.MkdirAll(home, 0o700); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "user.toml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("[broker]\nextra_order_id = \"prod\"\ndb_path = %q\n", filepath.Join(dir, "data"))), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "adapt", "--config", filepath.Join(repoRoot, "Caddyfile.example"), "--validate")
	cmd.Dir = dir
	cmd.Env = append(isolatedEnv(home), "S3_CONFIG="+cfg, "S3_ORDER=prod", "S3_ACCESS_LOG="+filepath.Join(dir, "access.log"),
		"S3_ACCESS_KEY=example-ak", "S3_SECRET_KEY=example-sk")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("caddy adapt --validate: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "not formatted") {
		t.Errorf("Caddyfile.example is not formatted (caddy fmt --overwrite):\n%s", stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{`"handler":"s3gateway"`, `"secret_key":"{env.S3_SECRET_KEY}"`, `"expected_underscore_headers":["x-amz-meta-build_id"]`,
		`"request\u003euri":{"filter":"regexp"`, `"value":"${1}REDACTED"`} {
		if !strings.Contains(out, want) {
			t.Errorf("adapted config lacks %s:\n%s", want, out)
		}
	}
	for _, d := range []string{filepath.Join(dir, "data", "prod"), filepath.Join(dir, "s3-data", "local")} {
		if _, err := os.Stat(filepath.Join(d, "index.db")); err != nil {
			t.Errorf("validation did not open the store in %s: %v", d, err)
		}
	}
}

// TestXcaddyBuild builds Caddy with xcaddy as xcaddy.md says and checks
// the module is in it.
//
// Two environment settings only make the test fast and runnable here; the
// command is the one of xcaddy.md:
//   - XCADDY_GO_BUILD_FLAGS and CGO_ENABLED as `go build ./...` has them,
//     so the build reuses its compiled packages (xcaddy's defaults,
//     -trimpath and CGO_ENABLED=0, would compile all of Caddy again);
//   - GOPROXY ending in |off, as xcaddy.md says to do for module proxies
//     that answer 403 (instead of 404) for unknown module paths.
func TestXcaddyBuild(t *testing.T) {
	dir := t.TempDir()
	gobin := filepath.Join(dir, "bin")
	goEnv := func(key string) string {
		out, err := exec.Command("go", "env", key).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	var proxies []string
	for p := range strings.FieldsFuncSeq(goEnv("GOPROXY"), func(r rune) bool { return r == ',' || r == '|' }) {
		if p != "direct" && p != "off" {
			proxies = append(proxies, p)
		}
	}
	goproxy := strings.Join(append(proxies, "off"), "|")

	install := exec.Command("go", "install", "github.com/caddyserver/xcaddy/cmd/xcaddy@"+xcaddyVersion)
	install.Env = append(os.Environ(), "GOBIN="+gobin)
	if out, err := install.CombinedOutput(); err != nil {
		missingTool(t, "xcaddy from the Go module proxy", fmt.Errorf("%v: %s", err, out))
	}
	out := filepath.Join(dir, "caddy")
	build := exec.Command(filepath.Join(gobin, "xcaddy"), "build", caddyVersion,
		"--with", "github.com/lambda/storagecli/caddymodule",
		"--replace", "github.com/lambda/storagecli="+repoRoot,
		"--output", out)
	build.Dir = dir
	build.Env = append(os.Environ(), "GOPROXY="+goproxy, "CGO_ENABLED="+goEnv("CGO_ENABLED"), "XCADDY_GO_BUILD_FLAGS=-ldflags=-w")
	start := time.Now()
	if b, err := build.CombinedOutput(); err != nil {
		t.Fatalf("xcaddy build: %v\n%s", err, b)
	}
	t.Logf("xcaddy build: %v", time.Since(start).Round(time.Millisecond))
	mods, err := exec.Command(out, "list-modules").Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(mods), "http.handlers.s3gateway") {
		t.Errorf("http.handlers.s3gateway is not in the xcaddy build's modules")
	}
	ver, err := exec.Command(out, "version").Output()
	if err != nil || !strings.HasPrefix(string(ver), caddyVersion+" ") {
		t.Errorf("caddy version = %q (%v), want %s", ver, err, caddyVersion)
	}
}

// The versions xcaddy.md documents.
const (
	caddyVersion  = "v2.11.9"
	xcaddyVersion = "v0.4.5"
)

// TestCmdCaddy checks the binary of ./cmd/caddy: version and modules.
func TestCmdCaddy(t *testing.T) {
	bin := buildBinary(t, "caddy")
	ver, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(ver), caddyVersion+" ") {
		t.Errorf("caddy version = %q (%v), want %s", ver, err, caddyVersion)
	}
	mods, err := exec.Command(bin, "list-modules").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"http.handlers.s3gateway", "http.handlers.file_server", "http.handlers.reverse_proxy", "tls.issuance.acme"} {
		if !strings.Contains(string(mods), m+"\n") {
			t.Errorf("module %s is missing from ./cmd/caddy", m)
		}
	}
}

// TestThroughputCaddyVsStoragecli measures one 100 MB PUT and GET with
// aws-sdk-go-v2 through Caddy over TLS and through `storagecli gateway run`
// over plain HTTP on this machine, and logs the rates and their ratio (no
// threshold: one run on a shared machine is a data point, not a test).
//
// The PUTs differ in more than the transport: over HTTPS the SDK streams
// the body as aws-chunked with a trailing CRC32 (STREAMING-UNSIGNED-
// PAYLOAD-TRAILER), over plain HTTP it signs the body's SHA-256, which
// both ends then compute. The GETs differ only by Caddy, TLS and HTTP/2.
func TestThroughputCaddyVsStoragecli(t *testing.T) {
	s := startCaddy(t)
	storagecli := buildBinary(t, "storagecli")
	dir := t.TempDir()
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	p := startProcess(t, "storagecli", dir, dir, nil, storagecli, "--home", filepath.Join(dir, "sc-home"), "gateway", "run",
		"--gateway.address", addr, "--gateway.access_key", "plain-ak", "--gateway.secret_key", "plain-sk")
	plainClient := &http.Client{Transport: &http.Transport{}, Timeout: 2 * time.Minute}
	t.Cleanup(plainClient.CloseIdleConnections)
	if err := testproc.WaitTCP(addr, p, 30*time.Second); err != nil {
		t.Fatalf("storagecli gateway run: %v", err)
	}

	data := make([]byte, 100<<20)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	measure := func(cli *s3.Client, bucket string) (put, get float64) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String("100mb"), Body: bytes.NewReader(data)}); err != nil {
			t.Fatal(err)
		}
		put = 100 / time.Since(start).Seconds()
		start = time.Now()
		o, err := cli.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("100mb")})
		if err != nil {
			t.Fatal(err)
		}
		n, err := io.Copy(io.Discard, o.Body)
		o.Body.Close()
		if err != nil || n != int64(len(data)) {
			t.Fatalf("GET: %d bytes, %v", n, err)
		}
		get = 100 / time.Since(start).Seconds()
		return put, get
	}
	cPut, cGet := measure(sdkClient(s.client, s.endpoint, s.ak, s.sk), "tput")
	pPut, pGet := measure(sdkClient(plainClient, "http://"+addr, "plain-ak", "plain-sk"), "tput")
	t.Logf("100 MB PUT: Caddy over TLS %.0f MB/s (trailer checksum), storagecli over HTTP %.0f MB/s (signed SHA-256 payload), ratio %.2f", cPut, pPut, cPut/pPut)
	t.Logf("100 MB GET: Caddy over TLS %.0f MB/s, storagecli over HTTP %.0f MB/s, ratio %.2f", cGet, pGet, cGet/pGet)
}
