package caddymodule

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestPublicAccessThroughCaddy: a public-read object and a policy that
// needs aws:SecureTransport are served to anonymous browsers over HTTPS
// through the module; the order's block_public_access, set in user.toml,
// turns that off at the next reload.
func TestPublicAccessThroughCaddy(t *testing.T) {
	tc := newTester(t)
	_, httpsPort, _ := testPorts(t)
	dir := t.TempDir()
	cfg := orderConfig(t, dir, "pub-order", "pub-ak", "pub-sk-secret")
	site := func(cfg string) string {
		return globalOptions(t) + fmt.Sprintf(`
https://localhost:%d {
	tls internal
	s3gateway {
		config %s
	}
}
`, httpsPort, cfg)
	}
	load(t, tc, site(cfg))
	endpoint := fmt.Sprintf("https://localhost:%d", httpsPort)
	hc := httpsClient(t)
	waitTLS(t, hc, endpoint)
	cli := s3Client(hc, endpoint, "pub-ak", "pub-sk-secret", false)
	ctx := ctxT(t)
	if _, err := cli.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("media"), ObjectOwnership: types.ObjectOwnershipObjectWriter}); err != nil {
		t.Fatal(err)
	}
	if _, err := cli.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("media"), Key: aws.String("cat.txt"),
		Body: strings.NewReader("meow"), ACL: types.ObjectCannedACLPublicRead}); err != nil {
		t.Fatal(err)
	}
	put(t, cli, "media", "tls/only.txt", []byte("secure"))
	policy := `{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::media/tls/*","Condition":{"Bool":{"aws:SecureTransport":"true"}}}]}`
	if _, err := cli.PutBucketPolicy(ctx, &s3.PutBucketPolicyInput{Bucket: aws.String("media"), Policy: aws.String(policy)}); err != nil {
		t.Fatal(err)
	}
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := hc.Get(endpoint + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/media/cat.txt"); code != http.StatusOK || body != "meow" {
		t.Errorf("anonymous GET of a public-read object: %d %s", code, body)
	}
	if code, body := get("/media/tls/only.txt"); code != http.StatusOK || body != "secure" {
		t.Errorf("anonymous GET granted over TLS: %d %s", code, body)
	}
	if code, _ := get("/media"); code != http.StatusForbidden {
		t.Errorf("anonymous listing of a private bucket: %d", code)
	}
	// The order blocks public access: reload with the switch on (the
	// same data, another user.toml).
	data, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	blocked := writeUserTOML(t, filepath.Join(dir, "blocked"), string(data)+"\n[order.pub-order]\nblock_public_access = true\n")
	load(t, tc, site(blocked))
	if code, _ := get("/media/cat.txt"); code != http.StatusForbidden {
		t.Errorf("anonymous GET with block_public_access: %d", code)
	}
}
