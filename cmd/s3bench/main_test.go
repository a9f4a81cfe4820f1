package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

const (
	testAK = "benchkey"
	testSK = "benchsecret"
)

// newGateway serves an embedded store in t.TempDir(), through wrap if set.
func newGateway(t *testing.T, wrap func(http.Handler) http.Handler) string {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var h http.Handler
	h, err = gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

func testConfig(endpoint string) Config {
	return Config{
		Endpoint: endpoint, AccessKey: testAK, SecretKey: testSK, Region: "us-east-1",
		Bucket: "bench", Prefix: "p/", Size: 3000, PartSize: 5 << 20, Concurrency: 4, Count: 20,
		ChunkSize: 8 << 10, ListPage: 7, ListRounds: 2,
		PID: os.Getpid(), Sample: 5 * time.Millisecond, Seed: 1, OpTimeout: time.Minute,
	}
}

// TestAllPhases runs every phase in every payload mode against the gateway
// and checks the numbers are those of a run that verified its data.
func TestAllPhases(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]map[string]bool{} // prefix -> X-Amz-Content-Sha256 of PUTs
	url := newGateway(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.Count(r.URL.Path, "/") > 1 {
				mode := strings.Split(r.URL.Path, "/")[2]
				v := r.Header.Get("X-Amz-Content-Sha256")
				if len(v) == 64 {
					v = "sha256"
				}
				if r.Header.Get("Content-Encoding") != "" {
					v += " " + r.Header.Get("Content-Encoding")
				}
				mu.Lock()
				if seen[mode] == nil {
					seen[mode] = map[string]bool{}
				}
				seen[mode][v] = true
				mu.Unlock()
			}
			h.ServeHTTP(w, r)
		})
	})
	wantSent := map[string]string{
		payloadChunked:  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD aws-chunked",
		payloadTrailer:  "STREAMING-UNSIGNED-PAYLOAD-TRAILER aws-chunked",
		payloadSigned:   "sha256",
		payloadUnsigned: "UNSIGNED-PAYLOAD",
	}
	for _, mode := range []string{payloadChunked, payloadTrailer, payloadSigned, payloadUnsigned} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(url)
			cfg.Payload = mode
			cfg.Prefix = mode + "/"
			cfg.Phases = []string{phasePut, phaseGet, phaseHead, phaseList, phaseMultipart, phaseGet, phaseDelete, phaseList}
			var emitted int
			results, err := Run(context.Background(), cfg, func(Result) error { emitted++; return nil })
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != len(cfg.Phases) || emitted != len(results) {
				t.Fatalf("%d results, %d emitted, for %d phases", len(results), emitted, len(cfg.Phases))
			}
			for i, r := range results {
				if r.Phase != cfg.Phases[i] {
					t.Errorf("result %d is %s, want %s", i, r.Phase, cfg.Phases[i])
				}
				checkSane(t, r)
			}
			want := map[int]struct{ ops, verified, bytes int64 }{
				0: {20, 0, 20 * 3000},  // put
				1: {20, 20, 20 * 3000}, // get: every body verified
				2: {20, 20, 0},         // head
				3: {6, 40, 0},          // list: 2 rounds of ceil(20/7) pages, 20 keys each
				4: {20, 0, 20 * 3000},  // multipart-put
				5: {20, 20, 20 * 3000}, // get
				6: {20, 0, 0},          // delete: each object once
				7: {2, 0, 0},           // list of the empty prefix: one page a round
			}
			for i, w := range want {
				r := results[i]
				if r.Ops != w.ops || r.Verified != w.verified || r.Bytes != w.bytes {
					t.Errorf("%s: ops %d verified %d bytes %d; want %d %d %d", r.Phase, r.Ops, r.Verified, r.Bytes, w.ops, w.verified, w.bytes)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if len(seen[mode]) != 1 || !seen[mode][wantSent[mode]] {
				t.Errorf("PUT bodies sent as %v, want %q", seen[mode], wantSent[mode])
			}
		})
	}
}

// TestMultipartParts writes objects of several parts, then reads them back.
func TestMultipartParts(t *testing.T) {
	cfg := testConfig(newGateway(t, nil))
	cfg.Payload = payloadChunked
	cfg.ChunkSize = 64 << 10
	cfg.Size = 5<<20 + 4321 // two parts
	cfg.Count, cfg.Concurrency = 2, 2
	cfg.Phases = []string{phaseMultipart, phaseGet, phaseList}
	results, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		checkSane(t, r)
	}
	if r := results[1]; r.Verified != 2 || r.Bytes != 2*cfg.Size {
		t.Errorf("get after multipart-put: verified %d, bytes %d", r.Verified, r.Bytes)
	}
}

// TestDuration runs phases for a time instead of a count.
func TestDuration(t *testing.T) {
	cfg := testConfig(newGateway(t, nil))
	cfg.Payload = payloadUnsigned
	cfg.Count, cfg.Duration = 0, 300*time.Millisecond
	cfg.Phases = []string{phasePut, phaseGet, phaseDelete}
	results, err := Run(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		checkSane(t, r)
	}
	if results[1].Verified != results[1].Ops || results[2].Ops != results[0].Ops {
		t.Errorf("get verified %d of %d; deleted %d of %d written", results[1].Verified, results[1].Ops, results[2].Ops, results[0].Ops)
	}
}

func checkSane(t *testing.T, r Result) {
	t.Helper()
	if r.Ops <= 0 || r.Seconds <= 0 || r.OpsPerSec <= 0 || r.P50ms <= 0 || r.P99ms < r.P50ms || r.Maxms < r.P99ms {
		t.Errorf("%s: not sane: %+v", r.Phase, r)
	}
	if r.procUsage == nil || r.RSSPeakMiB <= 0 || r.RSSPeakMiB < r.RSSEndMiB || r.CPUSeconds < 0 || r.PeakSource == "" {
		t.Errorf("%s: no server usage with --pid: %+v", r.Phase, r.procUsage)
	}
}

// TestCorruptBody: a server returning a wrong byte makes the run fail.
func TestCorruptBody(t *testing.T) {
	url := newGateway(t, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Count(r.URL.Path, "/") > 1 {
				w = &corrupter{ResponseWriter: w}
			}
			h.ServeHTTP(w, r)
		})
	})
	for _, phases := range [][]string{{phasePut, phaseGet}, {phaseMultipart, phaseGet}} {
		cfg := testConfig(url)
		cfg.Payload = payloadChunked
		cfg.Prefix = phases[0] + "/"
		cfg.Phases = phases
		_, err := Run(context.Background(), cfg, nil)
		if err == nil || !strings.Contains(err.Error(), "differs from what was written") {
			t.Errorf("%v: err = %v, want a mismatch", phases, err)
		}
	}
}

// corrupter flips the 100th byte of a response body.
type corrupter struct {
	http.ResponseWriter
	n int
}

func (c *corrupter) Write(p []byte) (int, error) {
	if c.n <= 99 && c.n+len(p) > 99 {
		p = bytes.Clone(p)
		p[99-c.n] ^= 1
	}
	c.n += len(p)
	return c.ResponseWriter.Write(p)
}

// TestCommandLine runs the command as a user would: JSON lines to a file,
// the table on stdout, exit status 0.
func TestCommandLine(t *testing.T) {
	url := newGateway(t, nil)
	jsonFile := filepath.Join(t.TempDir(), "out.jsonl")
	var stdout, stderr bytes.Buffer
	code := mainErr([]string{"--endpoint", url, "--access-key", testAK, "--secret-key", testSK, "--label", "gw",
		"--phases", "put,head,list,delete", "--size", "1KiB", "-c", "2", "-n", "5", "--pid", fmt.Sprint(os.Getpid()),
		"--json", jsonFile}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	f, err := os.Open(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var phases []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("JSON line %q: %v", sc.Text(), err)
		}
		if m["label"] != "gw" || m["size"] != 1024.0 || m["server_rss_peak_mib"] == nil {
			t.Errorf("JSON line %s", sc.Text())
		}
		phases = append(phases, m["phase"].(string))
	}
	if strings.Join(phases, ",") != "put,head,list,delete" {
		t.Errorf("phases in the JSON: %v", phases)
	}
	if !strings.Contains(stdout.String(), "op/s") || !strings.Contains(stdout.String(), "list: 5 keys") {
		t.Errorf("table:\n%s", stdout.String())
	}
	// A second run reads the objects the first one wrote and left.
	stdout.Reset()
	code = mainErr([]string{"--endpoint", url, "--access-key", testAK, "--secret-key", testSK,
		"--phases", "put", "--size", "1KiB", "-n", "3", "--prefix", "again/"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	stdout.Reset()
	code = mainErr([]string{"--endpoint", url, "--access-key", testAK, "--secret-key", testSK,
		"--phases", "get,delete", "--size", "1KiB", "-n", "7", "--prefix", "again/", "--existing", "3"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("get --existing: exit %d: %s", code, stderr.String())
	}
	if !regexp.MustCompile(`"phase":"get".*"ops":7,.*"verified":7,`).MatchString(stdout.String()) ||
		!regexp.MustCompile(`"phase":"delete".*"ops":3,`).MatchString(stdout.String()) {
		t.Errorf("get,delete --existing 3 -n 7: JSON on stdout:\n%s", stdout.String())
	}
	// A wrong secret fails loudly with the server's error code.
	stderr.Reset()
	code = mainErr([]string{"--endpoint", url, "--access-key", testAK, "--secret-key", "wrong", "-n", "1"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "SignatureDoesNotMatch") {
		t.Errorf("wrong secret: exit %d, stderr %s", code, stderr.String())
	}
	if code := mainErr([]string{"--phases", "put,nope"}, &stdout, &stderr); code != 2 {
		t.Errorf("unknown phase: exit %d", code)
	}
}
