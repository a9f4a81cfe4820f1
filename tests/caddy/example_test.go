package caddy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lambda/storagecli/internal/testproc"
)

// exampleLogBlock returns the `log { ... }` block of Caddyfile.example's
// production site, as written there (its output file is
// {$S3_ACCESS_LOG:...}: set S3_ACCESS_LOG for the Caddy that reads it).
func exampleLogBlock(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Caddyfile.example"))
	if err != nil {
		t.Fatal(err)
	}
	var block []string
	for line := range strings.SplitSeq(string(b), "\n") {
		switch {
		case block == nil && line == "\tlog {":
			block = []string{line}
		case block != nil:
			block = append(block, line)
			if line == "\t}" {
				return strings.Join(block, "\n")
			}
		}
	}
	t.Fatal("Caddyfile.example has no site-level `log {` block")
	return ""
}

// startExampleCaddy runs the built Caddy serving one order over HTTPS
// (`tls internal`, a free loopback port) with the access log block of
// Caddyfile.example. The order is "e2e" with the keys s.ak / s.sk;
// orderTOML is added to its user.toml (e.g. an [order.e2e] table).
func startExampleCaddy(t *testing.T, orderTOML string) *caddyServer {
	t.Helper()
	bin := buildBinary(t, "caddy")
	dir := t.TempDir()
	s := &caddyServer{accessLog: filepath.Join(dir, "access.log"), ak: "example-ak", sk: "example-secret-key"}
	cfg := filepath.Join(dir, "user.toml")
	toml := fmt.Sprintf("[gateway]\naccess_key = %q\nsecret_key = %q\n\n[broker]\nextra_order_id = \"e2e\"\ndb_path = %q\n\n%s",
		s.ak, s.sk, filepath.Join(dir, "data"), orderTOML)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	site := fmt.Sprintf("%s\n\ts3gateway {\n\t\tconfig %s\n\t}", exampleLogBlock(t), cfg)
	c := testproc.StartCaddy(t, bin, dir, "", site, []string{"S3_ACCESS_LOG=" + s.accessLog})
	s.proc, s.endpoint, s.caFile, s.pool, s.client, s.home = c.Proc, c.Endpoint, c.CAFile, c.Pool, c.Client, c.Home
	return s
}

// TestExampleLogFilter runs Caddy with the access log configuration of
// Caddyfile.example and sends presigned URLs whose credential parameters
// are spelled in other letter cases or percent-encoded (the gateway
// decodes parameter names, and anyone reading the log could restore the
// spelling): no logged URI may contain a signature, credential or
// security token, and the other parameters stay readable.
func TestExampleLogFilter(t *testing.T) {
	s := startExampleCaddy(t, "")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli := sdkClient(s.client, s.endpoint, s.ak, s.sk)
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("logs")}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("logs"), Key: aws.String("k"), Body: strings.NewReader("x")}); err != nil {
		t.Fatal(err)
	}
	ps, err := s3.NewPresignClient(cli).PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("logs"), Key: aws.String("k"),
		ResponseContentType: aws.String("text/plain")})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(ps.URL)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	secrets := []string{q.Get("X-Amz-Signature"), url.QueryEscape(q.Get("X-Amz-Credential")), "the-session-token"}
	// Each variant renames parameters of the presigned query (the raw
	// query is edited: url.Values would re-encode the names).
	for _, v := range []struct {
		name    string
		renames []string // old, new
		extra   string
	}{
		{"as signed", nil, ""},
		{"lower case", []string{"X-Amz-Signature=", "x-amz-signature=", "X-Amz-Credential=", "x-amz-credential="}, ""},
		{"upper case", []string{"X-Amz-Signature=", "X-AMZ-SIGNATURE=", "X-Amz-Credential=", "X-AMZ-CREDENTIAL="}, ""},
		{"percent-encoded names", []string{"X-Amz-Signature=", "X-Amz-Signatur%65=", "X-Amz-Credential=", "X-Amz-%43redential="}, ""},
		{"security token", nil, "&x-amz-security-token=the-session-token"},
	} {
		raw := u.RawQuery
		for i := 0; i+1 < len(v.renames); i += 2 {
			raw = strings.Replace(raw, v.renames[i], v.renames[i+1], 1)
		}
		target := *u
		target.RawQuery = raw + v.extra
		resp, err := s.client.Get(target.String())
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t.Logf("%s: %s", v.name, resp.Status)
		if v.name == "as signed" && resp.StatusCode != http.StatusOK {
			t.Errorf("the presigned GET: %s", resp.Status)
		}
	}

	// Caddy writes the access log line after the response: wait for all.
	want := 5
	var uris []string
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		uris = loggedURIs(t, s.accessLog, "response-content-type=")
		if len(uris) >= want || time.Now().After(deadline) {
			break
		}
	}
	if len(uris) != want {
		t.Fatalf("%d access log entries of the presigned requests, want %d: %q", len(uris), want, uris)
	}
	for _, uri := range uris {
		for _, secret := range secrets {
			if strings.Contains(uri, secret) {
				t.Errorf("the access log shows a credential (%q): %s", secret, uri)
			}
		}
		if !strings.Contains(uri, "REDACTED") || !strings.Contains(uri, "response-content-type=text%2Fplain") ||
			!strings.Contains(uri, "X-Amz-Date=") {
			t.Errorf("logged URI %s: want the credentials REDACTED and the other parameters kept", uri)
		}
	}
}

// loggedURIs returns the request URIs in the access log at path that
// contain substr.
func loggedURIs(t *testing.T, path, substr string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var uris []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e struct {
			Request struct {
				URI string `json:"uri"`
			} `json:"request"`
		}
		if json.Unmarshal(sc.Bytes(), &e) == nil && strings.Contains(e.Request.URI, substr) {
			uris = append(uris, e.Request.URI)
		}
	}
	return uris
}
