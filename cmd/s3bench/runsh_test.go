package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRunScript runs bench/run.sh once on tiny sizes against the real
// `storagecli gateway run` and the null server, two rounds (the second
// lists the keys the first wrote, after a restart): the suite works end to
// end and every body read was verified. It never looks at speed.
func TestRunScript(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binaries and runs servers")
	}
	for _, tool := range []string{"bash", "python3"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s is required: %v", tool, err)
			}
			t.Skipf("%s is not available: %v", tool, err)
		}
	}
	out := t.TempDir()
	cmd := exec.Command("bash", filepath.Join("..", "..", "bench", "run.sh"))
	cmd.Env = append(os.Environ(),
		"TARGETS=storagecli null", "ROUNDS=2", "OUT="+out, "BIN="+t.TempDir(), "DATA_DIR="+t.TempDir(),
		"SMALL_SECONDS=300ms", "LARGE_SIZE=1MiB", "LARGE_COUNT=3", "LARGE_READS=2", "HASHFLOOR_SIZE=1MiB", "TRAILER_TARGETS=storagecli null",
		"HUGE_COUNT=2", "HUGE_SIZE=2MiB", "HUGE_TARGETS=storagecli null",
		"LIST_KEYS=20 45", "LIST_ROUNDS=2", "LIST_CONC=4",
		"DISK_SECONDS=100ms", "DISK_WRITE=1MiB", "REPORT=none")
	start := time.Now()
	b, err := cmd.CombinedOutput()
	t.Logf("bench/run.sh took %v", time.Since(start).Round(time.Millisecond))
	if err != nil {
		t.Fatalf("bench/run.sh: %v\n%s", err, tail(string(b), 6000))
	}

	type key struct{ label, phase string }
	got := map[key][]Result{}
	f, err := os.Open(filepath.Join(out, "results.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		r := Result{procUsage: &procUsage{}} // (json cannot allocate an unexported embedded struct)
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%q: %v", sc.Text(), err)
		}
		k := key{r.Label, fmt.Sprintf("%s/%d/%s", r.Phase, r.Size, r.Payload)}
		got[k] = append(got[k], r)
	}
	onePayload := func(label, phase string, size int64, payload string) Result {
		t.Helper()
		rs := got[key{label, fmt.Sprintf("%s/%d/%s", phase, size, payload)}]
		if len(rs) != 1 {
			t.Fatalf("%s %s of %d bytes (%s): %d results", label, phase, size, payload, len(rs))
		}
		return rs[0]
	}
	one := func(label, phase string, size int64) Result { // PUTs with signed chunks (other phases have no payload)
		t.Helper()
		if phase == phasePut {
			return onePayload(label, phase, size, payloadChunked)
		}
		return onePayload(label, phase, size, "")
	}
	for _, round := range []string{"r1", "r2"} {
		if r := onePayload("disk/"+round, phaseMachine, 0, ""); r.Machine == nil {
			t.Errorf("disk/%s: no machine description", round)
		}
		onePayload("disk/"+round, phaseDiskSync, 4<<10, "")
		for _, set := range []string{payloadChunked, payloadTrailer} {
			if r := onePayload("hashfloor/"+round, phaseHashFloor, 1<<20, set); r.CPUmsPerMiB <= 0 {
				t.Errorf("hashfloor/%s %s: %+v", round, set, r)
			}
		}
		for _, target := range []string{"storagecli", "null"} {
			label := target + "/" + round
			for _, p := range []string{phasePut, phaseGet, phaseHead, phaseDelete} {
				r := one(label, p, 4<<10)
				if r.Ops == 0 || (p == phaseGet || p == phaseHead) && r.Verified != r.Ops || r.PeakSource == "" {
					t.Errorf("%s small %s: ops %d verified %d usage %+v", label, p, r.Ops, r.Verified, r.procUsage)
				}
			}
			if r := one(label, phasePut, 1<<20); r.Ops != 3 || r.Payload != payloadChunked || r.RSSPeakMiB <= 0 {
				t.Errorf("%s large put: %+v", label, r)
			}
			if r := onePayload(label, phasePut, 1<<20, payloadTrailer); r.Ops != 3 || r.Bytes != 3<<20 {
				t.Errorf("%s large put, aws cli's way: ops %d bytes %d", label, r.Ops, r.Bytes)
			}
			if r := one(label, phaseGet, 1<<20); r.Ops != 6 || r.Verified != 6 || r.Bytes != 6<<20 {
				t.Errorf("%s large get: ops %d verified %d bytes %d", label, r.Ops, r.Verified, r.Bytes)
			}
			if r := one(label, phasePut, 2<<20); r.Ops != 2 {
				t.Errorf("%s huge put: ops %d", label, r.Ops)
			}
			var listed []int64
			for _, r := range got[key{label, phaseList + "/0/"}] {
				if r.Verified != 2*r.Keys || r.Listings != 2 {
					t.Errorf("%s list: %d keys, %d listings, %d verified", label, r.Keys, r.Listings, r.Verified)
				}
				listed = append(listed, r.Keys)
			}
			if fmt.Sprint(listed) != "[20 45]" {
				t.Errorf("%s: lists of %v keys, want [20 45]", label, listed)
			}
		}
	}
	set, err := os.ReadFile(filepath.Join(out, "settings.env"))
	if err != nil || !strings.Contains(string(set), "COMMAND=") || !strings.Contains(string(set), "FINISHED=") {
		t.Errorf("settings.env: %v\n%s", err, set)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return "…" + s[len(s)-n:]
	}
	return s
}
