package main

import (
	"encoding/json"
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture writes results of two rounds in which storagecli is exactly
// speed times MinIO on every throughput metric (and 1/speed on times),
// and returns the directory holding results.jsonl and settings.env.
//
// Servers spend CPU per request (per MiB) in inverse proportion to their
// speed, except for 64 MiB PUTs when flatCPU is set: there every server
// spends the same.
func fixture(t *testing.T, speed float64, flatCPU ...bool) string {
	t.Helper()
	dir := t.TempDir()
	var lines []string
	add := func(v any) {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(b))
	}
	rss := func(v float64) *float64 { return &v }
	for round := 1; round <= 2; round++ {
		add(map[string]any{"label": fmt.Sprintf("disk/r%d", round), "phase": "machine",
			"machine": machine{CPUModel: "Test CPU", Cores: 2, MemGiB: 24, Kernel: "6.1", Device: "/dev/vda", FSType: "ext4"}})
		add(result{Label: fmt.Sprintf("disk/r%d", round), Phase: "disk-sync", Size: 4096, OpsPerSec: 1000, MiBPerSec: 4, Seconds: 1})
		add(result{Label: fmt.Sprintf("disk/r%d", round), Phase: "disk-write", Size: 1 << 30, OpsPerSec: 1, MiBPerSec: 300, Seconds: 3})
		for _, target := range []string{"storagecli", "caddy", "upstream", "minio", "null"} {
			f := 1.0
			switch target {
			case "storagecli", "null":
				f = speed
			case "caddy":
				f = speed / 2
			}
			f *= 1 + 0.1*float64(round) // rounds differ; ratios do not
			label := fmt.Sprintf("%s/r%d", target, round)
			cpu := func(ops float64) *float64 { v := ops / f / 1000; return &v } // 1 ms per op at f = 1
			for _, p := range []string{"put", "get", "head", "delete"} {
				add(result{Label: label, Phase: p, Size: 4096, Concurrency: 16, OpsPerSec: 1000 * f, Ops: int64(10000 * f), Seconds: 10,
					RSSPeakMiB: rss(30), CPUSeconds: cpu(10000 * f)})
			}
			putCPU := cpu(500 * f)
			if len(flatCPU) > 0 && flatCPU[0] {
				putCPU = rss(500 * f / 1000)
			}
			add(result{Label: label, Phase: "put", Size: 64 << 20, Concurrency: 4, MiBPerSec: 100 * f, Ops: int64(8 * f), Bytes: int64(500*f) << 20,
				Seconds: 5, RSSPeakMiB: rss(40 * f), AnonPeakMiB: rss(10), FilePeakMiB: rss(40*f - 10), CPUSeconds: putCPU})
			add(result{Label: label, Phase: "get", Size: 64 << 20, Concurrency: 4, MiBPerSec: 200 * f, Ops: int64(16 * f), Bytes: int64(1000*f) << 20,
				Seconds: 5, RSSPeakMiB: rss(40), CPUSeconds: cpu(1000 * f)})
			for _, n := range []int64{10000, 100000} {
				add(result{Label: label, Phase: "list", Size: 0, Concurrency: 1, Keys: n, Listings: 3,
					ListingSeconds: float64(n) / 1000 * 0.01 / f, P50ms: 10 / f, Seconds: 1})
			}
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "results.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	set := "COMMAND=ROUNDS=2 bench/run.sh\nROUNDS=2\nSMALL_SIZE=4KiB\nLARGE_SIZE=64MiB\nSTARTED=2026-01-01T10:00:00Z\nFINISHED=2026-01-01T10:42:00Z\nALSO_1=SUITES=list bench/run.sh\n"
	if err := os.WriteFile(filepath.Join(dir, "settings.env"), []byte(set), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func generate(t *testing.T, dir string) string {
	t.Helper()
	md, pngFile := filepath.Join(dir, "BENCHMARKS.md"), filepath.Join(dir, "bench", "BENCHMARKS.png")
	if err := os.MkdirAll(filepath.Dir(pngFile), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.md"), []byte("Profiles say hi.\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := run([]string{"--results", filepath.Join(dir, "results.jsonl"), "--settings", filepath.Join(dir, "settings.env"),
		"--md", md, "--png", pngFile, "--notes", filepath.Join(dir, "notes.md"), "--root", dir})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(pngFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("chart: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 500 {
		t.Errorf("chart is %v", b)
	}
	b, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// row returns the line of the Markdown table starting with "| prefix".
func row(t *testing.T, md, prefix string) string {
	t.Helper()
	for line := range strings.SplitSeq(md, "\n") {
		if strings.HasPrefix(line, "| "+prefix) {
			return line
		}
	}
	t.Fatalf("no row %q in:\n%s", prefix, md)
	return ""
}

func TestReportMet(t *testing.T) {
	md := generate(t, fixture(t, 4))
	for _, prefix := range []string{"4 KiB PUT", "4 KiB GET", "4 KiB HEAD", "64 MiB PUT", "64 MiB GET", "ListObjectsV2 over 100k"} {
		if r := row(t, md, prefix); !strings.Contains(r, met) || !strings.Contains(r, "**4.00×**") && !strings.Contains(r, "**0.250×**") {
			t.Errorf("row %q", r)
		}
	}
	if r := row(t, md, "4 KiB PUT"); !strings.Contains(r, "| 2.00× | 4.00× |") {
		t.Errorf("Caddy's ratio and the CPU ratio: %q", r)
	}
	// Page times at 10k and 100k are equal: the same.
	if r := row(t, md, "ListObjectsV2 page time"); !strings.Contains(r, met) || !strings.Contains(r, "at 10k") {
		t.Errorf("row %q", r)
	}
	// storagecli's RSS is 40*4*1.2 MiB > 64.
	if r := row(t, md, "server peak RSS while 4 clients PUT 64 MiB"); !strings.Contains(r, notMet) || !strings.Contains(r, "192 MiB") ||
		!strings.Contains(r, "anonymous ≤ 10.0 MiB, file-backed ≤ 182 MiB") {
		t.Errorf("row %q", r)
	}
	if r := row(t, md, "server peak RSS while 4 clients PUT 1 GiB"); !strings.Contains(r, notMeasured) {
		t.Errorf("row %q", r)
	}
	// upstream is MinIO's speed: 1×.
	if r := row(t, md, "upstream mode vs direct MinIO, 64 MiB PUT"); !strings.Contains(r, met) || !strings.Contains(r, "**1.00×**") {
		t.Errorf("row %q", r)
	}
	for _, want := range []string{"Test CPU, 2 cores", "ROUNDS=2 bench/run.sh", "same file:\n\n    SUITES=list bench/run.sh\n", "about 42 minutes", "## Analysis\n\nProfiles say hi.",
		"](bench/BENCHMARKS.png)", "(cmd/s3bench)", "| disk: 4 KiB write + fdatasync, one writer | 1000 | op/s |"} {
		if !strings.Contains(md, want) {
			t.Errorf("no %q in:\n%s", want, md)
		}
	}
	if r := row(t, md, "4 KiB PUT, c16"); !strings.Contains(r, "(4.00×)") || !strings.Contains(r, "| 1150 |") {
		t.Errorf("results row %q", r) // MinIO: 1000 × the median of 1.1 and 1.2
	}
}

// TestReportMetByLoad: faster, but not by spending less CPU.
func TestReportMetByLoad(t *testing.T) {
	md := generate(t, fixture(t, 4, true))
	if r := row(t, md, "64 MiB PUT"); !strings.Contains(r, metByLoad) || !strings.Contains(r, "| 1.00× |") {
		t.Errorf("row %q", r)
	}
	if r := row(t, md, "64 MiB GET"); !strings.Contains(r, met) {
		t.Errorf("row %q", r)
	}
}

func TestReportNotMet(t *testing.T) {
	md := generate(t, fixture(t, 1.2))
	for _, prefix := range []string{"4 KiB PUT", "4 KiB GET", "64 MiB PUT", "ListObjectsV2 over 100k"} {
		if r := row(t, md, prefix); !strings.Contains(r, notMet) {
			t.Errorf("row %q", r)
		}
	}
	if r := row(t, md, "4 KiB HEAD"); !strings.Contains(r, notMet) {
		t.Errorf("row %q", r)
	}
}

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

// TestReportHashFloor: the large PUTs of each payload mode are told apart
// (the aws cli's PUT does not change the signed-chunk rows) and each target's
// CPU per MiB is shown next to the round's hashing floor.
func TestReportHashFloor(t *testing.T) {
	const speed = 4
	dir := fixture(t, speed)
	f, err := os.OpenFile(filepath.Join(dir, "results.jsonl"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	enc := json.NewEncoder(f)
	for round := 1; round <= 2; round++ {
		perMiB := 1 / (speed * (1 + 0.1*float64(round))) // storagecli's signed-chunk PUT, ms/MiB
		for _, fl := range []struct {
			payload string
			v       float64
		}{{"chunked", perMiB / 2}, {"trailer", perMiB / 4}, {"chunked-tls", 2 * perMiB / 3}} { // caddy: half the speed, over TLS
			if err := enc.Encode(map[string]any{"label": fmt.Sprintf("hashfloor/r%d", round), "phase": "hashfloor",
				"payload": fl.payload, "size": 1 << 28, "cpu_ms_per_mib": fl.v}); err != nil {
				t.Fatal(err)
			}
		}
		for _, target := range []string{"storagecli", "minio"} {
			cpu := 3 * float64(round) // 3 ms/MiB in round 1, 6 in round 2; slow, to tell them from the signed-chunk rows
			if err := enc.Encode(result{Label: fmt.Sprintf("%s/r%d", target, round), Phase: "put", Payload: "trailer", Size: 64 << 20,
				Concurrency: 4, MiBPerSec: 10, Ops: 1, Bytes: 64 << 20, Seconds: 6.4, CPUSeconds: &[]float64{cpu * 64 / 1000}[0]}); err != nil {
				t.Fatal(err)
			}
		}
	}
	f.Close()
	md := generate(t, dir)
	if r := row(t, md, "64 MiB PUT"); !strings.Contains(r, met) || !strings.Contains(r, "**4.00×**") {
		t.Errorf("signed-chunk goal row mixes in the trailer PUTs: %q", r)
	}
	if r := row(t, md, "64 MiB PUT, c4, the aws cli's way"); !strings.Contains(r, "| 10.0 (1.00×) |") {
		t.Errorf("trailer row %q", r)
	}
	if r := row(t, md, "**hashing floor**"); !strings.Contains(r, "SHA-256 + MD5 + CRC64NVME") || !strings.Contains(r, "MD5 + CRC32") {
		t.Errorf("floor row %q", r)
	}
	// storagecli: twice the signed-chunk floor in both rounds; its trailer
	// PUT 3 and 6 ms/MiB over floors of 1/17.6 and 1/19.2.
	r := row(t, md, "storagecli |")
	if !strings.Contains(r, "(2.00×)") || !strings.Contains(r, "| 4.50 (") {
		t.Errorf("storagecli floor row %q", r)
	}
	// caddy: against the floor over TLS.
	if r := row(t, md, "caddy |"); !strings.Contains(r, "(3.00×)") {
		t.Errorf("caddy floor row %q", r)
	}
}
