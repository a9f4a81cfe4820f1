package caddy

import (
	"bytes"
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// earlyErrorBound bounds how long the aws cli may take to report an upload
// the gateway refuses before reading its body. The issue asks for under
// 5 s and the cli takes about 1 s here; the bound is generous for a shared
// machine, and far below the 60 s per attempt (then an SSL error) the cli
// waited while Caddy drained the body it never asked for.
const earlyErrorBound = 20 * time.Second

// TestEarlyErrorsAWSCLI runs the aws cli against the built Caddy over
// HTTPS: uploads refused before their body is read (wrong secret, full
// order; a single PUT and a multipart part, each sent with
// Expect: 100-continue) fail at once with the S3 error.
func TestEarlyErrorsAWSCLI(t *testing.T) {
	requireAWS(t)
	s := startExampleCaddy(t, "[order.e2e]\ncapacity = \"64KiB\"\n")
	dir := t.TempDir()
	small := filepath.Join(dir, "small") // a single PutObject
	large := filepath.Join(dir, "large") // multipart: UploadPart
	for path, size := range map[string]int{small: 100 << 10, large: 9 << 20} {
		b := make([]byte, size)
		if _, err := rand.Read(b); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	good := clientEnv(s.home, s.ak, s.sk, s.caFile)
	run(t, good, time.Minute, "aws", "s3", "--endpoint-url", s.endpoint, "mb", "s3://early")
	for _, c := range []struct {
		name string
		sk   string
		file string
		want string
	}{
		{"wrong secret", "wrong-secret", small, "(SignatureDoesNotMatch) when calling the PutObject operation"},
		{"full order", s.sk, small, "(QuotaExceeded) when calling the PutObject operation"},
		{"full order, multipart", s.sk, large, "(QuotaExceeded) when calling the UploadPart operation"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "aws", "s3", "--endpoint-url", s.endpoint, "cp", "--no-progress", c.file, "s3://early/obj")
			cmd.Env = clientEnv(s.home, s.ak, c.sk, s.caFile)
			var out bytes.Buffer
			cmd.Stdout, cmd.Stderr = &out, &out
			start := time.Now()
			err := cmd.Run()
			took := time.Since(start)
			t.Logf("aws s3 cp (%s): %v in %v", c.name, err, took.Round(time.Millisecond))
			if err == nil || !strings.Contains(out.String(), c.want) {
				t.Errorf("aws s3 cp: %v\n%s\nwant a failure with %q", err, out.String(), c.want)
			}
			if took > earlyErrorBound {
				t.Errorf("aws s3 cp took %v to report the error, want under %v", took.Round(time.Millisecond), earlyErrorBound)
			}
		})
	}
}
