package e2e

import (
	"bytes"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// seededRand returns a deterministic random source for seed.
func seededRand(seed uint64) *rand.ChaCha8 {
	var s [32]byte
	binary.LittleEndian.PutUint64(s[:], seed)
	copy(s[8:], "storagecli-e2e")
	return rand.NewChaCha8(s)
}

// randomBytes returns n deterministic pseudo-random bytes for seed.
func randomBytes(seed uint64, n int) []byte {
	b := make([]byte, n)
	_, _ = seededRand(seed).Read(b)
	return b
}

// writeRandomFile writes size deterministic pseudo-random bytes for seed to
// path and returns their SHA-256 (hex).
func writeRandomFile(t *testing.T, path string, size int64, seed uint64) string {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), seededRand(seed), size); err != nil {
		f.Close()
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// fileSHA256 returns the SHA-256 (hex) and size of the file at path.
func fileSHA256(t *testing.T, path string) (string, int64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// multipartETag returns the S3 ETag of the file at path uploaded in parts of
// partSize bytes: "<md5 of the concatenated part MD5s>-<number of parts>".
func multipartETag(t *testing.T, path string, partSize int64) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var sums []byte
	n := 0
	for {
		h := md5.New()
		c, err := io.CopyN(h, f, partSize)
		if c > 0 {
			sums = h.Sum(sums)
			n++
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	all := md5.Sum(sums)
	return fmt.Sprintf("%s-%d", hex.EncodeToString(all[:]), n)
}

// md5Hex returns the MD5 of b in hex.
func md5Hex(b []byte) string {
	s := md5.Sum(b)
	return hex.EncodeToString(s[:])
}

// sameFile reports whether the files at a and b have identical bytes, with a
// description of the first difference otherwise.
func sameFile(t *testing.T, a, b string) (bool, string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		return false, err.Error()
	}
	if bytes.Equal(x, y) {
		return true, ""
	}
	i := 0
	for i < len(x) && i < len(y) && x[i] == y[i] {
		i++
	}
	return false, fmt.Sprintf("%s has %d bytes, %s has %d; first difference at offset %d", a, len(x), b, len(y), i)
}

// mustJSON decodes the JSON document s into v, failing the test with s on error.
func mustJSON(t *testing.T, s string, v any) {
	t.Helper()
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("decoding JSON: %v\n%s", err, s)
	}
}

// slowCommand is how long a single aws cli command of these tests may take
// (the slowest, 100 MB, takes a few seconds) before the test reports a hang.
const slowCommand = 45 * time.Second

// awsCLI runs the aws cli with env and fails the test on a non-zero exit.
// Arguments are passed exactly as given (the caller adds the endpoint).
func awsCLI(t *testing.T, env []string, args ...string) string {
	t.Helper()
	start := time.Now()
	out, err := testproc.Run(env, 3*time.Minute, "aws", args...)
	if err != nil {
		t.Fatalf("aws cli failed after %v: %v", time.Since(start).Round(time.Millisecond), err)
	}
	d := time.Since(start)
	t.Logf("aws %s (%v)", testproc.QuoteArgs(args), d.Round(time.Millisecond))
	if d > slowCommand {
		t.Errorf("aws %s took %v: botocore's read timeout is 60 s, so a request probably got no response and was retried",
			testproc.QuoteArgs(args), d.Round(time.Millisecond))
	}
	return out
}

// s3api runs `aws s3api <op> --endpoint-url <gateway> args...` and decodes its
// JSON output into v (if v is not nil).
func s3api(t *testing.T, env []string, g *gateway, v any, op string, args ...string) {
	t.Helper()
	full := append([]string{"s3api", "--endpoint-url", g.endpoint(), op}, args...)
	full = append(full, "--output", "json")
	out := awsCLI(t, env, full...)
	if v != nil {
		mustJSON(t, out, v)
	}
}

// pyResult is what every script in py/ prints as its last stdout line.
type pyResult struct {
	Failures []string       `json:"failures"`
	Facts    map[string]any `json:"facts"`
}

// runPy runs py/<script> with args in env. Every failure the script reports
// becomes a test error; a crash or unparsable output fails the test. It
// returns the facts the script reported.
func runPy(t *testing.T, env []string, script string, args ...string) map[string]any {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("py", script))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, runErr := testproc.Run(env, 3*time.Minute, "python3", append([]string{path}, args...)...)
	t.Logf("python3 %s %s (%v)", script, testproc.QuoteArgs(args), time.Since(start).Round(time.Millisecond))
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res pyResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		if runErr != nil {
			t.Fatalf("%s failed: %v", script, runErr)
		}
		t.Fatalf("%s: cannot decode the result line: %v\n%s", script, err, out)
	}
	for _, f := range res.Failures {
		t.Errorf("%s: %s", script, f)
	}
	if runErr != nil && len(res.Failures) > 0 {
		t.Logf("%s output: %v", script, runErr)
	}
	if runErr != nil && len(res.Failures) == 0 {
		t.Errorf("%s exited with an error but reported no failure: %v", script, runErr)
	}
	return res.Facts
}
