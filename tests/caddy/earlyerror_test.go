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

// earlyErrorMargin bounds how much longer than a successful command of the
// same cli (its start-up, seconds on a loaded machine) the aws cli may take
// to report an upload the gateway refuses before reading its body: the
// issue asks for the S3 error in under 5 s, where the cli waited 60 s per
// attempt (then an SSL error) while Caddy drained the body it never asked
// for.
const earlyErrorMargin = 5 * time.Second

// awsCLIs returns the aws cli binaries of this machine by major version
// ("aws-cli/1", "aws-cli/2"): the one on PATH (required) and Debian's
// /usr/bin/aws (the aws cli v2 package) when it is another version.
func awsCLIs(t *testing.T) map[string]string {
	t.Helper()
	requireAWS(t)
	clis := map[string]string{}
	for _, bin := range []string{"aws", "/usr/bin/aws"} {
		out, err := exec.Command(bin, "--version").CombinedOutput()
		if err != nil {
			continue
		}
		if v, _, ok := strings.Cut(string(out), "."); ok && strings.HasPrefix(v, "aws-cli/") && clis[v] == "" {
			clis[v] = bin
		}
	}
	if len(clis) == 0 {
		t.Fatal("aws --version does not say aws-cli/<version>")
	}
	return clis
}

// TestEarlyErrorsAWSCLI runs the aws cli (each version found) against the
// built Caddy over HTTPS: uploads refused before their body is read (wrong
// secret, full order; a single PUT and a multipart part, each sent with
// Expect: 100-continue) fail at once with the S3 error.
func TestEarlyErrorsAWSCLI(t *testing.T) {
	clis := awsCLIs(t)
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
	cases := []struct {
		name string
		sk   string
		file string
		want string
	}{
		{"wrong secret", "wrong-secret", small, "(SignatureDoesNotMatch) when calling the PutObject operation"},
		{"full order", s.sk, small, "(QuotaExceeded) when calling the PutObject operation"},
		{"full order, multipart", s.sk, large, "(QuotaExceeded) when calling the UploadPart operation"},
	}
	for version, bin := range clis {
		// The cli's own time for a request that succeeds.
		start := time.Now()
		run(t, good, time.Minute, bin, "s3", "--endpoint-url", s.endpoint, "ls", "s3://early")
		bound := time.Since(start) + earlyErrorMargin
		for _, c := range cases {
			t.Run(version+"/"+c.name, func(t *testing.T) { awsEarlyError(t, s, bin, c.sk, c.file, c.want, bound) })
		}
	}
}

// awsEarlyError runs `aws s3 cp file` with secret key sk against s and
// expects it to fail with want within bound.
func awsEarlyError(t *testing.T, s *caddyServer, bin, sk, file, want string, bound time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "s3", "--endpoint-url", s.endpoint, "cp", "--no-progress", file, "s3://early/obj")
	cmd.Env = clientEnv(s.home, s.ak, sk, s.caFile)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	t.Logf("%s s3 cp: %v in %v", bin, err, took.Round(time.Millisecond))
	if err == nil || !strings.Contains(out.String(), want) {
		t.Errorf("%s s3 cp: %v\n%s\nwant a failure with %q", bin, err, out.String(), want)
	}
	if took > bound {
		t.Errorf("%s s3 cp took %v to report the error, want under %v (a successful command's time + %v)", bin, took.Round(time.Millisecond), bound.Round(time.Millisecond), earlyErrorMargin)
	}
}
