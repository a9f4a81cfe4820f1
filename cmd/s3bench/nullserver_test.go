package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNullServer runs every phase against the null server: reads verify,
// as they would against a real server.
func TestNullServer(t *testing.T) {
	srv := httptest.NewServer(newNullServer(1))
	t.Cleanup(srv.Close)
	for _, mode := range []string{payloadChunked, payloadSigned, payloadUnsigned} {
		t.Run(mode, func(t *testing.T) {
			cfg := testConfig(srv.URL)
			cfg.Payload = mode
			cfg.Prefix = mode + "/"
			cfg.Phases = []string{phasePut, phaseGet, phaseHead, phaseList, phaseMultipart, phaseGet, phaseDelete, phaseList}
			results, err := Run(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range results {
				checkSane(t, r)
			}
			if r := results[1]; r.Verified != 20 || r.Bytes != 20*3000 {
				t.Errorf("get: verified %d, bytes %d", r.Verified, r.Bytes)
			}
			if r := results[3]; r.Verified != 40 || r.Ops != 6 {
				t.Errorf("list: verified %d in %d pages", r.Verified, r.Ops)
			}
			if r := results[7]; r.Ops != 2 {
				t.Errorf("list after delete: %d pages", r.Ops)
			}
		})
	}
	// Another seed serves other bytes: the run fails, as with a server
	// that corrupts data.
	other := httptest.NewServer(newNullServer(2))
	t.Cleanup(other.Close)
	cfg := testConfig(other.URL)
	cfg.Payload = payloadUnsigned
	cfg.Phases = []string{phasePut, phaseGet}
	if _, err := Run(context.Background(), cfg, nil); err == nil || !strings.Contains(err.Error(), "differs") {
		t.Errorf("null server with another seed: err = %v, want a mismatch", err)
	}
}

// TestNullServerCommandLine checks the flags of `s3bench null`.
func TestNullServerCommandLine(t *testing.T) {
	var out bytes.Buffer
	if code := mainErr([]string{"null", "--listen", "not-an-address"}, &out, &out); code != 1 {
		t.Errorf("bad address: exit %d: %s", code, out.String())
	}
	if code := mainErr([]string{"null", "--nope"}, &out, &out); code != 2 {
		t.Errorf("bad flag: exit %d", code)
	}
}

// TestDisk runs `s3bench disk` briefly and checks its JSON lines.
func TestDisk(t *testing.T) {
	jsonFile := filepath.Join(t.TempDir(), "disk.jsonl")
	var stdout, stderr bytes.Buffer
	code := mainErr([]string{"disk", "--dir", t.TempDir(), "--sync-duration", "100ms", "--write-size", "1MiB",
		"--label", "disk/r1", "--json", jsonFile}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var phases []string
	for _, line := range bytes.Split(bytes.TrimSpace(readFile(t, jsonFile)), []byte("\n")) {
		var r Result
		if err := json.Unmarshal(line, &r); err != nil {
			t.Fatal(err)
		}
		phases = append(phases, r.Phase)
		switch r.Phase {
		case phaseMachine:
			if r.Machine == nil || r.Machine.Cores < 1 || r.Machine.Kernel == "" {
				t.Errorf("machine: %+v", r.Machine)
			}
		default:
			if r.Ops < 1 || r.MiBPerSec <= 0 || r.Label != "disk/r1" {
				t.Errorf("%s: %+v", r.Phase, r)
			}
		}
	}
	if strings.Join(phases, ",") != "machine,disk-sync,disk-write" {
		t.Errorf("phases %v", phases)
	}
	if !strings.Contains(stdout.String(), "disk-sync") {
		t.Errorf("table:\n%s", stdout.String())
	}
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
