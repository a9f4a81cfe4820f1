package main

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// userHZ is the unit of utime/stime in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// procUsage is what a phase cost the server process.
type procUsage struct {
	RSSStartMiB float64 `json:"server_rss_start_mib"`
	RSSPeakMiB  float64 `json:"server_rss_peak_mib"`
	RSSEndMiB   float64 `json:"server_rss_end_mib"`
	// PeakSource is "hwm" when VmHWM was reset at the start of the phase
	// (so it is the kernel's exact peak over the phase), "poll" when the
	// peak is the largest VmRSS polled every --sample.
	PeakSource string `json:"server_rss_peak_source"`
	// The largest RssAnon (heap, stacks) and RssFile (mapped files, such
	// as an mmap'ed index; reclaimable) polled: what the peak is made of.
	AnonPeakMiB float64 `json:"server_rss_anon_peak_mib"`
	FilePeakMiB float64 `json:"server_rss_file_peak_mib"`
	CPUSeconds  float64 `json:"server_cpu_s"`
}

// sampler watches a process over one phase.
type sampler struct {
	pid      int
	interval time.Duration
	stop     chan struct{}
	done     sync.WaitGroup

	mu       sync.Mutex
	maxRSS   int64 // KiB
	maxAnon  int64
	maxFile  int64
	hwmReset bool
	startRSS int64
	startCPU int64 // ticks
	err      error
}

// startSampler begins sampling pid (nil if pid is 0).
func startSampler(pid int, interval time.Duration) (*sampler, error) {
	if pid == 0 {
		return nil, nil
	}
	s := &sampler{pid: pid, interval: interval, stop: make(chan struct{})}
	// Writing 5 to clear_refs resets VmHWM to the current RSS (Linux 4.0+;
	// needs the right to ptrace the process, e.g. the same user).
	s.hwmReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0) == nil
	st, err := readStatus(pid)
	if err != nil {
		return nil, err
	}
	cpu, err := readCPU(pid)
	if err != nil {
		return nil, err
	}
	s.startRSS, s.startCPU = st.rss, cpu
	s.record(st)
	s.done.Add(1)
	go s.loop()
	return s, nil
}

func (s *sampler) loop() {
	defer s.done.Done()
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			st, err := readStatus(s.pid)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			s.record(st)
			s.mu.Unlock()
		}
	}
}

func (s *sampler) record(st status) {
	s.maxRSS = max(s.maxRSS, st.rss)
	s.maxAnon = max(s.maxAnon, st.anon)
	s.maxFile = max(s.maxFile, st.file)
}

// finish stops sampling and returns the usage over the phase.
func (s *sampler) finish() (*procUsage, error) {
	if s == nil {
		return nil, nil
	}
	close(s.stop)
	s.done.Wait()
	st, err := readStatus(s.pid)
	if err != nil {
		return nil, fmt.Errorf("server process %d: %w", s.pid, err)
	}
	s.record(st)
	rss := st.rss
	if s.err != nil {
		return nil, fmt.Errorf("server process %d: %w", s.pid, s.err)
	}
	cpu, err := readCPU(s.pid)
	if err != nil {
		return nil, err
	}
	u := &procUsage{
		RSSStartMiB: kib(s.startRSS),
		RSSEndMiB:   kib(rss),
		CPUSeconds:  float64(cpu-s.startCPU) / userHZ,
		PeakSource:  "poll",
		RSSPeakMiB:  kib(s.maxRSS),
		AnonPeakMiB: kib(s.maxAnon),
		FilePeakMiB: kib(s.maxFile),
	}
	if s.hwmReset {
		u.PeakSource = "hwm"
		u.RSSPeakMiB = kib(max(st.hwm, s.maxRSS))
	}
	return u, nil
}

func kib(v int64) float64 { return float64(v) / 1024 }

// status is the memory of a process in KiB.
type status struct{ rss, hwm, anon, file int64 }

// readStatus reads /proc/PID/status.
func readStatus(pid int) (status, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return status{}, err
	}
	field := func(name string) int64 {
		i := bytes.Index(b, []byte("\n"+name+":"))
		if i < 0 {
			return -1
		}
		line := b[i+len(name)+2:]
		if j := bytes.IndexByte(line, '\n'); j >= 0 {
			line = line[:j]
		}
		v, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(string(line)), " kB"), 10, 64)
		if err != nil {
			return -1
		}
		return v
	}
	st := status{rss: field("VmRSS"), hwm: field("VmHWM"), anon: field("RssAnon"), file: field("RssFile")}
	if st.rss < 0 || st.hwm < 0 {
		return status{}, fmt.Errorf("/proc/%d/status: no VmRSS/VmHWM (process exited?)", pid)
	}
	st.anon, st.file = max(st.anon, 0), max(st.file, 0)
	return st, nil
}

// readCPU returns utime+stime of pid in clock ticks.
func readCPU(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may contain spaces: count from its ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: malformed", pid)
	}
	return ut + st, nil
}

// selfCPU is this process's user+system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// hostCPU is a reading of the machine's CPU time (/proc/stat, all CPUs).
type hostCPU struct{ total, idle, iowait int64 }

func readHostCPU() (hostCPU, bool) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return hostCPU{}, false
	}
	line, _, _ := bytes.Cut(b, []byte("\n"))
	f := strings.Fields(string(line))
	if len(f) < 6 || f[0] != "cpu" {
		return hostCPU{}, false
	}
	var h hostCPU
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return hostCPU{}, false
		}
		if i >= 8 { // guest time is already in user time
			break
		}
		h.total += n
		switch i {
		case 3:
			h.idle = n
		case 4:
			h.iowait = n
		}
	}
	return h, true
}

// hostUsage is the share of the machine's CPU time (all cores) that was busy
// and waiting for I/O between two readings, in percent.
func hostUsage(a, b hostCPU) (busy, iowait float64) {
	d := float64(b.total - a.total)
	if d <= 0 {
		return 0, 0
	}
	return 100 * (d - float64(b.idle-a.idle) - float64(b.iowait-a.iowait)) / d, 100 * float64(b.iowait-a.iowait) / d
}
