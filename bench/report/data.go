package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
)

// result is one JSON line of s3bench (the fields the report uses).
type result struct {
	Label          string   `json:"label"`
	Phase          string   `json:"phase"`
	Size           int64    `json:"size"`
	Concurrency    int      `json:"concurrency"`
	Payload        string   `json:"payload"`
	Ops            int64    `json:"ops"`
	Bytes          int64    `json:"bytes"`
	Seconds        float64  `json:"seconds"`
	OpsPerSec      float64  `json:"ops_per_s"`
	MiBPerSec      float64  `json:"mib_per_s"`
	P50ms          float64  `json:"p50_ms"`
	P99ms          float64  `json:"p99_ms"`
	Verified       int64    `json:"verified"`
	HostBusyPct    float64  `json:"host_cpu_busy_pct"`
	OtherPct       float64  `json:"host_other_cpu_pct"`
	Keys           int64    `json:"keys"`
	Listings       int      `json:"listings"`
	ListingSeconds float64  `json:"listing_s"`
	RSSPeakMiB     *float64 `json:"server_rss_peak_mib"`
	AnonPeakMiB    *float64 `json:"server_rss_anon_peak_mib"`
	FilePeakMiB    *float64 `json:"server_rss_file_peak_mib"`
	CPUSeconds     *float64 `json:"server_cpu_s"`
	CPUmsPerMiB    float64  `json:"cpu_ms_per_mib"` // hashfloor
	Machine        *machine `json:"machine"`

	target string // Label before "/r"
	round  int    // after it
}

// machine is s3bench disk's description of the host.
type machine struct {
	CPUModel   string  `json:"cpu_model"`
	Cores      int     `json:"cores"`
	MemGiB     float64 `json:"mem_gib"`
	Kernel     string  `json:"kernel"`
	OS         string  `json:"os"`
	Mount      string  `json:"mount"`
	FSType     string  `json:"fs_type"`
	Device     string  `json:"device"`
	DiskModel  string  `json:"disk_model"`
	Rotational string  `json:"rotational"`
	GoVersion  string  `json:"go_version"`
}

// readResults reads a results.jsonl; every line must carry a label of
// the form target/rN.
func readResults(path string) ([]result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []result
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		t, rs, ok := strings.Cut(r.Label, "/r")
		round, err := strconv.Atoi(rs)
		if !ok || err != nil || t == "" {
			return nil, fmt.Errorf("%s:%d: label %q is not target/rN", path, n, r.Label)
		}
		r.target, r.round = t, round
		out = append(out, r)
	}
	return out, sc.Err()
}

// settings are bench/run.sh's settings.env: KEY=VALUE lines.
type settings map[string]string

func readSettings(path string) (settings, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	s := settings{}
	for line := range strings.SplitSeq(string(b), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			s[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return s, nil
}

// size is a size setting in bytes (def when unset or unreadable).
func (s settings) size(key string, def int64) int64 {
	if v, err := parseSize(s[key]); err == nil {
		return v
	}
	return def
}

// parseSize reads s3bench's sizes: 4096, 4KiB, 64MiB, 1GiB, 10MB.
func parseSize(s string) (int64, error) {
	t := strings.TrimSpace(s)
	i := strings.IndexFunc(t, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := t, ""
	if i >= 0 {
		num, unit = t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	}
	mult := map[string]float64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "kb": 1e3, "m": 1 << 20, "mib": 1 << 20,
		"mb": 1e6, "g": 1 << 30, "gib": 1 << 30, "gb": 1e9}[unit]
	v, err := strconv.ParseFloat(num, 64)
	if mult == 0 || err != nil || v < 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return int64(v * mult), nil
}

// formatSize writes round binary sizes as 4 KiB, 64 MiB, 1 GiB.
func formatSize(n int64) string {
	for _, u := range []struct {
		s string
		v int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.v && n%u.v == 0 {
			return fmt.Sprintf("%d %s", n/u.v, u.s)
		}
	}
	return fmt.Sprintf("%d B", n)
}

// formatKeys writes 10000 as 10k and 1000000 as 1M.
func formatKeys(n int64) string {
	switch {
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// metric is one number per target and round, picked from the results.
type metric struct {
	id    string
	name  string
	unit  string
	lower bool // lower is better (times, memory)
	pick  func(result) (float64, bool)
}

// metrics are the suite's measurements as set up by s.
func metrics(s settings, res []result) []metric {
	small := s.size("SMALL_SIZE", 4<<10)
	large := s.size("LARGE_SIZE", 64<<20)
	huge := s.size("HUGE_SIZE", 1<<30)
	conc := func(key string, def int) string {
		if v, err := strconv.Atoi(s[key]); err == nil {
			return strconv.Itoa(v)
		}
		return strconv.Itoa(def)
	}
	phase := func(p string, size int64) func(result) bool {
		return func(r result) bool { return r.Phase == p && r.Size == size }
	}
	// putWith: the large PUTs sent with one payload mode ("" in results
	// older than the trailer mode: signed chunks).
	putWith := func(payload string) func(result) bool {
		return func(r result) bool {
			return r.Phase == "put" && r.Size == large && (r.Payload == payload || payload == "chunked" && r.Payload == "")
		}
	}
	ops := func(f func(result) bool) func(result) (float64, bool) {
		return func(r result) (float64, bool) { return r.OpsPerSec, f(r) }
	}
	mibs := func(f func(result) bool) func(result) (float64, bool) {
		return func(r result) (float64, bool) { return r.MiBPerSec, f(r) }
	}
	mem := func(field func(result) *float64, f func(result) bool) func(result) (float64, bool) {
		return func(r result) (float64, bool) {
			if field(r) == nil {
				return 0, false
			}
			return *field(r), f(r)
		}
	}
	rss := func(f func(result) bool) func(result) (float64, bool) {
		return mem(func(r result) *float64 { return r.RSSPeakMiB }, f)
	}
	anon := func(f func(result) bool) func(result) (float64, bool) {
		return mem(func(r result) *float64 { return r.AnonPeakMiB }, f)
	}
	file := func(f func(result) bool) func(result) (float64, bool) {
		return mem(func(r result) *float64 { return r.FilePeakMiB }, f)
	}
	// Server CPU per request or per MiB: how much work the server does,
	// much less sensitive than throughput to other load on the machine.
	cpuPerOp := func(f func(result) bool) func(result) (float64, bool) {
		return func(r result) (float64, bool) {
			if r.CPUSeconds == nil || r.Ops == 0 {
				return 0, false
			}
			return *r.CPUSeconds / float64(r.Ops) * 1e6, f(r)
		}
	}
	cpuPerMiB := func(f func(result) bool) func(result) (float64, bool) {
		return func(r result) (float64, bool) {
			if r.CPUSeconds == nil || r.Bytes == 0 {
				return 0, false
			}
			return *r.CPUSeconds / (float64(r.Bytes) / (1 << 20)) * 1e3, f(r)
		}
	}
	sc, lc := conc("SMALL_CONC", 16), conc("LARGE_CONC", 4)
	ss, ls, hs := formatSize(small), formatSize(large), formatSize(huge)
	ms := []metric{
		{id: "small-put", name: ss + " PUT, c" + sc + ", durable", unit: "op/s", pick: ops(phase("put", small))},
		{id: "small-get", name: ss + " GET, c" + sc, unit: "op/s", pick: ops(phase("get", small))},
		{id: "small-head", name: ss + " HEAD, c" + sc, unit: "op/s", pick: ops(phase("head", small))},
		{id: "small-delete", name: ss + " DELETE, c" + sc, unit: "op/s", pick: ops(phase("delete", small))},
		{id: "large-put", name: ls + " PUT, c" + lc + ", signed chunks", unit: "MiB/s", pick: mibs(putWith("chunked"))},
		{id: "large-get", name: ls + " GET, c" + lc, unit: "MiB/s", pick: mibs(phase("get", large))},
		{id: "small-put-cpu", name: "server CPU per " + ss + " PUT", unit: "µs", lower: true, pick: cpuPerOp(phase("put", small))},
		{id: "small-get-cpu", name: "server CPU per " + ss + " GET", unit: "µs", lower: true, pick: cpuPerOp(phase("get", small))},
		{id: "small-head-cpu", name: "server CPU per " + ss + " HEAD", unit: "µs", lower: true, pick: cpuPerOp(phase("head", small))},
		{id: "large-put-cpu", name: "server CPU per MiB of " + ls + " PUT", unit: "ms", lower: true, pick: cpuPerMiB(putWith("chunked"))},
		{id: "large-get-cpu", name: "server CPU per MiB of " + ls + " GET", unit: "ms", lower: true, pick: cpuPerMiB(phase("get", large))},
		{id: "large-put-rss", name: "server peak RSS, " + lc + " clients PUT " + ls, unit: "MiB", lower: true, pick: rss(putWith("chunked"))},
		{id: "large-put-anon", name: "of which anonymous (heap, stacks), peak", unit: "MiB", lower: true, pick: anon(putWith("chunked"))},
		{id: "large-put-file", name: "of which file-backed (mapped files), peak", unit: "MiB", lower: true, pick: file(putWith("chunked"))},
	}
	if slices.ContainsFunc(res, putWith("trailer")) {
		ms = append(ms,
			metric{id: "large-put-trailer", name: ls + " PUT, c" + lc + ", the aws cli's way (unsigned, CRC32 trailer)", unit: "MiB/s", pick: mibs(putWith("trailer"))},
			metric{id: "large-put-trailer-cpu", name: "server CPU per MiB of that PUT", unit: "ms", lower: true, pick: cpuPerMiB(putWith("trailer"))},
		)
	}
	hasHuge := slices.ContainsFunc(res, func(r result) bool { return r.Phase == "put" && r.Size == huge })
	if hasHuge {
		ms = append(ms,
			metric{id: "huge-put-rss", name: "server peak RSS, 4 clients PUT " + hs, unit: "MiB", lower: true, pick: rss(phase("put", huge))},
			metric{id: "huge-put-anon", name: "of which anonymous (heap, stacks), peak", unit: "MiB", lower: true, pick: anon(phase("put", huge))},
			metric{id: "huge-put-file", name: "of which file-backed (mapped files), peak", unit: "MiB", lower: true, pick: file(phase("put", huge))},
		)
	}
	for _, n := range listSizes(res) {
		k := formatKeys(n)
		isList := func(r result) bool { return r.Phase == "list" && r.Keys == n }
		ms = append(ms,
			metric{id: "list-" + k, name: "ListObjectsV2 of " + k + " keys (whole listing)", unit: "s", lower: true,
				pick: func(r result) (float64, bool) { return r.ListingSeconds, isList(r) }},
			metric{id: "page-" + k, name: "ListObjectsV2 page time at " + k + " keys (p50)", unit: "ms", lower: true,
				pick: func(r result) (float64, bool) { return r.P50ms, isList(r) }},
		)
	}
	ms = append(ms,
		metric{id: "disk-sync", name: "disk: 4 KiB write + fdatasync, one writer", unit: "op/s",
			pick: func(r result) (float64, bool) { return r.OpsPerSec, r.Phase == "disk-sync" }},
		metric{id: "disk-write", name: "disk: sequential write + fdatasync", unit: "MiB/s",
			pick: func(r result) (float64, bool) { return r.MiBPerSec, r.Phase == "disk-write" }},
	)
	for _, f := range floors {
		ms = append(ms, metric{id: f.id, name: "hashing floor: " + f.hashes, unit: "ms/MiB", lower: true,
			pick: func(r result) (float64, bool) { return r.CPUmsPerMiB, r.Phase == "hashfloor" && r.Payload == f.payload }},
			metric{id: f.id + "-tls", name: "hashing floor over TLS: " + f.hashes + " + AES-128-GCM", unit: "ms/MiB", lower: true,
				pick: func(r result) (float64, bool) {
					return r.CPUmsPerMiB, r.Phase == "hashfloor" && r.Payload == f.payload+"-tls"
				}})
	}
	return ms
}

// floors are the hashing floors (s3bench hashfloor, target "hashfloor")
// of the large PUT metrics: the CPU per MiB of the hashes every byte of
// such a PUT needs; id+"-tls" adds the decryption of TLS records, the
// floor of the targets in tlsTargets.
var floors = []struct{ id, payload, hashes, put, title string }{
	{"floor-chunked", "chunked", "SHA-256 + MD5 + CRC64NVME", "large-put-cpu", "PUT with signed chunks"},
	{"floor-trailer", "trailer", "MD5 + CRC32", "large-put-trailer-cpu", "PUT the aws cli's way (unsigned, CRC32 trailer)"},
}

// tlsTargets are the targets reached over TLS.
var tlsTargets = []string{"caddy"}

// listSizes are the key counts listed, in increasing order.
func listSizes(res []result) []int64 {
	var ns []int64
	for _, r := range res {
		if r.Phase == "list" && r.Keys > 0 && !slices.Contains(ns, r.Keys) {
			ns = append(ns, r.Keys)
		}
	}
	slices.Sort(ns)
	return ns
}

// table holds each metric's values by target and round.
type table struct {
	targets []string                              // in the order first seen, minio and null last
	rounds  []int                                 // every round seen
	values  map[string]map[string]map[int]float64 // metric -> target -> round -> value
}

func collect(res []result, ms []metric) *table {
	t := &table{values: map[string]map[string]map[int]float64{}}
	for _, r := range res {
		if r.target != "disk" && r.target != "hashfloor" && !slices.Contains(t.targets, r.target) {
			t.targets = append(t.targets, r.target)
		}
		if !slices.Contains(t.rounds, r.round) {
			t.rounds = append(t.rounds, r.round)
		}
		for _, m := range ms {
			v, ok := m.pick(r)
			if !ok {
				continue
			}
			if t.values[m.id] == nil {
				t.values[m.id] = map[string]map[int]float64{}
			}
			if t.values[m.id][r.target] == nil {
				t.values[m.id][r.target] = map[int]float64{}
			}
			t.values[m.id][r.target][r.round] = v
		}
	}
	slices.Sort(t.rounds)
	// The reference and the ceiling go last.
	for _, last := range []string{"minio", "null"} {
		if i := slices.Index(t.targets, last); i >= 0 {
			t.targets = append(slices.Delete(t.targets, i, i+1), last)
		}
	}
	return t
}

// roundsOf is the number of rounds in which target was measured (every
// round if it never was).
func (t *table) roundsOf(target string) int {
	seen := map[int]bool{}
	for _, byTarget := range t.values {
		for r := range byTarget[target] {
			seen[r] = true
		}
	}
	if len(seen) == 0 {
		return len(t.rounds)
	}
	return len(seen)
}

// median of the values of metric id for target over every round (NaN if none).
func (t *table) median(id, target string) float64 {
	var vs []float64
	for _, v := range t.values[id][target] {
		vs = append(vs, v)
	}
	return median(vs)
}

// max is the largest value of metric id for target over the rounds.
func (t *table) max(id, target string) float64 {
	m := math.NaN()
	for _, v := range t.values[id][target] {
		if math.IsNaN(m) || v > m {
			m = v
		}
	}
	return m
}

// ratios are target's value over ref's, one per round both have.
func (t *table) ratios(id, target, ref string) []float64 {
	var out []float64
	for _, r := range t.rounds {
		a, ok1 := t.values[id][target][r]
		b, ok2 := t.values[id][ref][r]
		if ok1 && ok2 && b > 0 {
			out = append(out, a/b)
		}
	}
	return out
}

// floorRatios are target's value of metric id over the hashing floor
// floorID of the same round, one per round both have.
func (t *table) floorRatios(id, target, floorID string) []float64 {
	var out []float64
	for _, r := range t.rounds {
		a, ok1 := t.values[id][target][r]
		b, ok2 := t.values[floorID]["hashfloor"][r]
		if ok1 && ok2 && b > 0 {
			out = append(out, a/b)
		}
	}
	return out
}

func median(vs []float64) float64 {
	if len(vs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
