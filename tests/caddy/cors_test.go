package caddy

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// TestCaddyCORS sets a bucket's CORS rules with the aws cli through the
// built Caddy, then checks that browsers' preflights (unauthenticated
// OPTIONS) reach the module and are answered from the rules, and that
// actual requests and their errors carry the CORS headers.
func TestCaddyCORS(t *testing.T) {
	requireAWS(t)
	s := startCaddy(t)
	env := clientEnv(s.home, s.ak, s.sk, s.caFile)
	awsAPI := func(args ...string) string {
		return run(t, env, 2*time.Minute, "aws", append([]string{"s3api", "--endpoint-url", s.endpoint, "--output", "json"}, args...)...)
	}
	const origin = "https://app.example"
	awsAPI("create-bucket", "--bucket", "web")
	rules := `{"CORSRules": [
		{"ID": "app", "AllowedOrigins": ["` + origin + `"], "AllowedMethods": ["GET", "PUT"],
		 "AllowedHeaders": ["content-type", "x-amz-*"], "ExposeHeaders": ["ETag"], "MaxAgeSeconds": 600},
		{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}]}`
	file := filepath.Join(t.TempDir(), "cors.json")
	if err := os.WriteFile(file, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	awsAPI("put-bucket-cors", "--bucket", "web", "--cors-configuration", "file://"+file)
	var got struct{ CORSRules []map[string]any }
	if err := json.Unmarshal([]byte(awsAPI("get-bucket-cors", "--bucket", "web")), &got); err != nil {
		t.Fatal(err)
	}
	var want struct{ CORSRules []map[string]any }
	_ = json.Unmarshal([]byte(rules), &want)
	if g, w := mustJSON(got), mustJSON(want); g != w {
		t.Fatalf("get-bucket-cors = %s, want %s", g, w)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cli := sdkClient(s.client, s.endpoint, s.ak, s.sk)
	if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("web"), Key: aws.String("a.txt"), Body: strings.NewReader("hello")}); err != nil {
		t.Fatal(err)
	}

	preflight := func(path, origin, method, headers string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodOptions, s.endpoint+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", method)
		if headers != "" {
			req.Header.Set("Access-Control-Request-Headers", headers)
		}
		return send(t, s.client, req)
	}
	resp, _ := preflight("/web/a.txt?uploads", origin, "PUT", "content-type,x-amz-date,x-amz-content-sha256")
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
		resp.Header.Get("Access-Control-Allow-Methods") != "GET, PUT" || resp.Header.Get("Access-Control-Max-Age") != "600" ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type, x-amz-date, x-amz-content-sha256" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Errorf("allowed preflight through Caddy: %s %v", resp.Status, resp.Header)
	}
	resp, body := preflight("/web/a.txt", "https://evil.example", "PUT", "")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "<Code>AccessForbidden</Code>") || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("refused preflight through Caddy: %s %s", resp.Status, body)
	}

	// Actual requests (presigned, as a browser sends them): a success, an
	// S3 error and an unauthenticated request, all with the headers.
	presign := s3.NewPresignClient(cli)
	for _, c := range []struct {
		key    string
		signed bool
		status int
	}{{"a.txt", true, http.StatusOK}, {"missing", true, http.StatusNotFound}, {"a.txt", false, http.StatusForbidden}} {
		url := s.endpoint + "/web/" + c.key
		if c.signed {
			ps, err := presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("web"), Key: aws.String(c.key)})
			if err != nil {
				t.Fatal(err)
			}
			url = ps.URL
		}
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Origin", origin)
		resp, body := send(t, s.client, req)
		if resp.StatusCode != c.status || resp.Header.Get("Access-Control-Allow-Origin") != origin ||
			resp.Header.Get("Access-Control-Expose-Headers") != "ETag" || !strings.Contains(resp.Header.Get("Vary"), "Origin") {
			t.Errorf("GET %s with Origin (signed %v): %s %s, CORS headers %v", c.key, c.signed, resp.Status, body, resp.Header)
		}
	}

	awsAPI("delete-bucket-cors", "--bucket", "web")
	out, err := runCmd(env, "aws", "s3api", "--endpoint-url", s.endpoint, "get-bucket-cors", "--bucket", "web")
	if err == nil || !strings.Contains(out, "NoSuchCORSConfiguration") {
		t.Errorf("get-bucket-cors after delete-bucket-cors: %v %s", err, out)
	}
	if resp, _ := preflight("/web/a.txt", origin, "GET", ""); resp.StatusCode != http.StatusForbidden {
		t.Errorf("preflight after delete-bucket-cors: %s, want 403", resp.Status)
	}
}

// send sends req and returns the response with its body read.
func send(t *testing.T, hc *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// mustJSON encodes v (maps sorted by key).
func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(bytes.TrimSpace(b))
}

// runCmd runs name with args in env and returns its combined output and
// error (for commands expected to fail).
func runCmd(env []string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	return string(out), err
}
