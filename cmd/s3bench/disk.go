package main

// `s3bench disk`: the disk's raw synced write rate, for reference next to
// the servers' numbers, and a description of the machine.

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/pflag"
)

// Disk phases.
const (
	phaseDiskSync  = "disk-sync"  // one writer: write --sync-size, fdatasync, repeat
	phaseDiskWrite = "disk-write" // write --write-size sequentially, then one fdatasync
	phaseMachine   = "machine"    // not a measurement: Result.Machine describes the host
)

// Machine describes the host a run measured.
type Machine struct {
	CPUModel string  `json:"cpu_model"`
	Cores    int     `json:"cores"`
	MemGiB   float64 `json:"mem_gib"`
	Kernel   string  `json:"kernel"`
	OS       string  `json:"os,omitempty"`
	// The file system holding --dir: its mount point, type and device,
	// and the device's model and whether it is rotational, where /sys
	// tells.
	Mount      string `json:"mount,omitempty"`
	FSType     string `json:"fs_type,omitempty"`
	Device     string `json:"device,omitempty"`
	DiskModel  string `json:"disk_model,omitempty"`
	Rotational string `json:"rotational,omitempty"`
	GoVersion  string `json:"go_version"`
}

// runDisk is `s3bench disk --dir DIR`: one JSON line describing the
// machine, then one per measurement (op/s and MiB/s, latency of each
// synced write), and a table.
func runDisk(args []string, stdout, stderr io.Writer) int {
	fs := pflag.NewFlagSet("s3bench disk", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", os.TempDir(), "directory on the disk to measure (a temporary file is written there and removed)")
	label := fs.String("label", "disk", "name copied into every JSON line")
	jsonFile := fs.String("json", "", "append the JSON lines to this file instead of stdout")
	syncSize := fs.String("sync-size", "4KiB", "size of each synced write")
	syncTime := fs.Duration("sync-duration", 5*time.Second, "how long to repeat synced writes")
	writeSize := fs.String("write-size", "1GiB", "size of the sequential write (0: skip it)")
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: s3bench disk [flags]\n\nThe disk's raw synced write rate (see `go doc ./cmd/s3bench`).\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == pflag.ErrHelp {
			return 0
		}
		return 2
	}
	ss, err1 := parseSize(*syncSize)
	ws, err2 := parseSize(*writeSize)
	if err1 != nil || err2 != nil || ss < 1 || *syncTime <= 0 {
		fmt.Fprintln(stderr, "s3bench disk: bad --sync-size, --write-size or --sync-duration")
		return 2
	}
	jsonOut, tableOut := stdout, stderr
	if *jsonFile != "" && *jsonFile != "-" {
		f, err := os.OpenFile(*jsonFile, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			fmt.Fprintln(stderr, "s3bench disk:", err)
			return 1
		}
		defer f.Close()
		jsonOut, tableOut = f, stdout
	}
	enc := json.NewEncoder(jsonOut)
	m := describeMachine(*dir)
	if err := enc.Encode(Result{Time: time.Now().UTC().Format(time.RFC3339), Label: *label, Phase: phaseMachine, Machine: &m}); err != nil {
		fmt.Fprintln(stderr, "s3bench disk:", err)
		return 1
	}
	var results []Result
	for _, f := range []func() (Result, error){
		func() (Result, error) { return diskSync(*dir, ss, *syncTime) },
		func() (Result, error) { return diskWrite(*dir, ws) },
	} {
		r, err := f()
		if err != nil {
			fmt.Fprintln(stderr, "s3bench disk:", err)
			return 1
		}
		if r.Phase == "" { // skipped
			continue
		}
		r.Label = *label
		results = append(results, r)
		if err := enc.Encode(r); err != nil {
			fmt.Fprintln(stderr, "s3bench disk:", err)
			return 1
		}
	}
	fmt.Fprintf(tableOut, "machine: %s, %d cores, %.1f GiB, Linux %s; %s (%s on %s, %s)\n",
		m.CPUModel, m.Cores, m.MemGiB, m.Kernel, m.Mount, m.FSType, m.Device, m.DiskModel)
	writeTable(tableOut, results)
	return 0
}

// diskSync writes size bytes at the end of a new file and fdatasyncs it,
// again and again for d: the rate of durable small writes one after the
// other.
func diskSync(dir string, size int64, d time.Duration) (Result, error) {
	f, err := os.CreateTemp(dir, ".s3bench-disk-*")
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := randomBytes(int(size))
	var lat []time.Duration
	start := time.Now()
	for time.Since(start) < d {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			return Result{}, err
		}
		if err := syscall.Fdatasync(int(f.Fd())); err != nil {
			return Result{}, fmt.Errorf("fdatasync: %w", err)
		}
		lat = append(lat, time.Since(t0))
	}
	st := stats{ops: int64(len(lat)), bytes: int64(len(lat)) * size, elapsed: time.Since(start), lat: lat}
	r := Result{Phase: phaseDiskSync, Size: size, Concurrency: 1}
	st.fill(&r)
	return r, nil
}

// diskWrite writes size bytes to a new file in 4 MiB writes, then
// fdatasyncs it once: the disk's sequential write rate.
func diskWrite(dir string, size int64) (Result, error) {
	if size <= 0 {
		return Result{}, nil
	}
	f, err := os.CreateTemp(dir, ".s3bench-disk-*")
	if err != nil {
		return Result{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := randomBytes(4 << 20)
	start := time.Now()
	for n := int64(0); n < size; {
		m := min(int64(len(buf)), size-n)
		if _, err := f.Write(buf[:m]); err != nil {
			return Result{}, err
		}
		n += m
	}
	if err := syscall.Fdatasync(int(f.Fd())); err != nil {
		return Result{}, fmt.Errorf("fdatasync: %w", err)
	}
	el := time.Since(start)
	st := stats{ops: 1, bytes: size, elapsed: el, lat: []time.Duration{el}}
	r := Result{Phase: phaseDiskWrite, Size: size, Concurrency: 1}
	st.fill(&r)
	return r, nil
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.NewChaCha8([32]byte{7}).Read(b)
	return b
}

// describeMachine reads /proc and /sys; what cannot be read stays empty.
func describeMachine(dir string) Machine {
	m := Machine{Cores: runtime.NumCPU(), GoVersion: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemGiB = float64(kb) / (1 << 20)
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "PRETTY_NAME="); ok {
				m.OS = strings.Trim(v, `"`)
			}
		}
	}
	abs, err := filepath.Abs(dir)
	if err == nil {
		if p, err := filepath.EvalSymlinks(abs); err == nil {
			abs = p
		}
		m.Mount, m.FSType, m.Device = mountOf(abs)
	}
	if dev := strings.TrimPrefix(m.Device, "/dev/"); dev != m.Device && dev != "" {
		sys := "/sys/class/block/" + dev
		// A partition's disk is its parent directory in /sys/class/block.
		if p, err := filepath.EvalSymlinks(sys); err == nil {
			if _, err := os.Stat(filepath.Join(p, "partition")); err == nil {
				sys = filepath.Dir(p)
			}
		}
		m.DiskModel = readTrim(filepath.Join(sys, "device", "model"))
		if m.DiskModel == "" && strings.HasPrefix(dev, "vd") {
			m.DiskModel = "virtio block device"
		}
		switch readTrim(filepath.Join(sys, "queue", "rotational")) {
		case "0":
			m.Rotational = "no"
		case "1":
			m.Rotational = "yes"
		}
	}
	return m
}

// mountOf finds the mount holding path in /proc/self/mountinfo: the
// longest mount point that is a prefix of it.
func mountOf(path string) (mount, fstype, device string) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", "", ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// id parent maj:min root mountpoint opts [optional...] - fstype source superopts
		left, right, ok := strings.Cut(sc.Text(), " - ")
		l, r := strings.Fields(left), strings.Fields(right)
		if !ok || len(l) < 5 || len(r) < 2 {
			continue
		}
		mp := unescapeMount(l[4])
		if (path == mp || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) && len(mp) >= len(mount) {
			mount, fstype, device = mp, r[0], r[1]
		}
	}
	return mount, fstype, device
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b bytes.Buffer
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func readTrim(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
