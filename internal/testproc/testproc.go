// Package testproc is what the end-to-end test packages (tests/*) share:
// their TestMain (Main: module root, temporary directory, binaries built
// once), the processes they start (Proc, a registry so that none outlives
// the run, also when a test fails, panics or hits -test.timeout, and log
// tails for failure reports), polling (WaitTCP, WaitFor, WaitHTTP), the
// environment of child processes and clients (IsolatedEnv, AWSEnv), the
// client tools (RequireTool, Run), Caddy's internal CA (CaddyRootCA,
// TLSClient) and signed raw requests (SignV4).
package testproc

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	procMu sync.Mutex
	procs  = map[int]string{} // pid -> description
)

// Register records a process started (directly or as a daemon) by the
// tests, described by what.
func Register(pid int, what string) {
	procMu.Lock()
	defer procMu.Unlock()
	procs[pid] = what
}

// Unregister forgets a process once it is known to be gone.
func Unregister(pid int) {
	procMu.Lock()
	defer procMu.Unlock()
	delete(procs, pid)
}

// KillAll SIGKILLs every registered process that is still alive, naming
// each on stderr (prefixed with who).
func KillAll(who string) {
	procMu.Lock()
	defer procMu.Unlock()
	for pid, what := range procs {
		if syscall.Kill(pid, 0) == nil {
			fmt.Fprintf(os.Stderr, "%s: killing leftover process %d (%s)\n", who, pid, what)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		delete(procs, pid)
	}
}

// ArmTimeoutWatchdog runs fn shortly before the -test.timeout deadline:
// when that fires, the testing package panics without running cleanups,
// so fn is the last chance to stop the processes the tests started.
func ArmTimeoutWatchdog(fn func()) {
	f := flag.Lookup("test.timeout")
	if f == nil {
		return
	}
	d, err := time.ParseDuration(f.Value.String())
	if err != nil || d <= 0 {
		return
	}
	margin := 5 * time.Second
	if d < 4*margin {
		margin = d / 4
	}
	time.AfterFunc(d-margin, fn)
}

// FileTail returns the last n bytes of the file at path (or an error text).
func FileTail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return "(" + err.Error() + ")"
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// Builder builds the module's commands (./cmd/<name>) once per test binary.
type Builder struct {
	// RepoRoot is the module root; OutDir receives the binaries.
	RepoRoot, OutDir string

	mu   sync.Mutex
	done map[string]string
	errs map[string]error
}

// Build returns the path of ./cmd/<name>, built on first use; a failed
// build fails every test that asks for it.
func (b *Builder) Build(t testing.TB, name string) string {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.done[name]; ok {
		return p
	}
	if err := b.errs[name]; err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, err := b.build(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("built ./cmd/%s in %v", name, time.Since(start).Round(time.Millisecond))
	return out
}

// BuildNow is Build outside a test (in a TestMain's setup).
func (b *Builder) BuildNow(name string) (string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.done[name]; ok {
		return p, nil
	}
	if err := b.errs[name]; err != nil {
		return "", err
	}
	return b.build(name)
}

// build runs go build for ./cmd/<name>; b.mu is held.
func (b *Builder) build(name string) (string, error) {
	if b.done == nil {
		b.done, b.errs = map[string]string{}, map[string]error{}
	}
	out := filepath.Join(b.OutDir, name)
	cmd := exec.Command("go", "build", "-o", out, "./cmd/"+name)
	cmd.Dir = b.RepoRoot
	if msg, err := cmd.CombinedOutput(); err != nil {
		b.errs[name] = fmt.Errorf("go build ./cmd/%s: %v\n%s", name, err, msg)
		return "", b.errs[name]
	}
	b.done[name] = out
	return out, nil
}

// Use records path as the binary of name (a prebuilt one).
func (b *Builder) Use(name, path string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done == nil {
		b.done, b.errs = map[string]string{}, map[string]error{}
	}
	b.done[name] = path
}

// FreePort returns a TCP port free on 127.0.0.1 whose UDP port is free too
// (Caddy serves HTTP/3 on the same port).
func FreePort(t testing.TB) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}
