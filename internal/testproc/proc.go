package testproc

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Proc is a server process started by the tests, its output appended to a
// log file.
type Proc struct {
	// Name describes it in messages; Addr is where it serves (may be "").
	Name, Addr string
	// LogPath is the file its stdout and stderr are appended to.
	LogPath string
	// Cmd is the running command.
	Cmd *exec.Cmd

	done    chan struct{}
	waitErr error
}

// Start starts cmd (its Env, Dir and arguments set by the caller) with its
// output appended to logPath, registered so that it never outlives the test
// binary; it also dies with the binary (Pdeathsig).
func Start(name, addr, logPath string, cmd *exec.Cmd) (*Proc, error) {
	lf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(lf, "\n==== %s: starting %s on %s\n", time.Now().Format(time.RFC3339Nano), name, addr)
	cmd.Stdout, cmd.Stderr = lf, lf
	// Pdeathsig: if the test binary dies (e.g. -test.timeout panics
	// without running cleanups), the kernel kills the process too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &Proc{Name: name, Addr: addr, LogPath: logPath, Cmd: cmd, done: make(chan struct{})}
	Register(cmd.Process.Pid, name)
	go func() {
		p.waitErr = cmd.Wait()
		lf.Close()
		Unregister(cmd.Process.Pid)
		close(p.done)
	}()
	return p, nil
}

// StartT is Start for a test: a failure to start fails t, and the process
// is stopped when t ends, the end of its log attached if t failed.
func StartT(t testing.TB, name, addr, logPath string, cmd *exec.Cmd) *Proc {
	t.Helper()
	p, err := Start(name, addr, logPath, cmd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Stop(15 * time.Second); err != nil {
			t.Errorf("stopping %v", err)
		}
		if t.Failed() {
			t.Logf("%s log %s (end):\n%s", name, logPath, p.LogTail(8000))
		}
	})
	return p
}

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// WaitErr is how the process ended (valid once Done is closed).
func (p *Proc) WaitErr() error { return p.waitErr }

// Kill SIGKILLs the process and waits until it is reaped.
func (p *Proc) Kill() {
	if !p.Exited() {
		_ = p.Cmd.Process.Kill()
	}
	<-p.done
}

// Stop sends SIGTERM and waits up to grace, then SIGKILLs. It returns an
// error when SIGTERM was not enough or the process failed after it; a
// process already gone is no error (the test that killed it knows).
func (p *Proc) Stop(grace time.Duration) error {
	if p.Exited() {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		if p.waitErr != nil {
			return fmt.Errorf("%s exited after SIGTERM with %v", p.Name, p.waitErr)
		}
		return nil
	case <-time.After(grace):
		p.Kill()
		return fmt.Errorf("%s still running %v after SIGTERM; killed", p.Name, grace)
	}
}

// LogTail returns the last n bytes of the process's log.
func (p *Proc) LogTail(n int64) string { return FileTail(p.LogPath, n) }

// FreeAddr returns a loopback address whose TCP port was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	addr, err := FreeAddrNow()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// FreeAddrNow is FreeAddr outside a test.
func FreeAddrNow() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// WaitTCP polls addr until it accepts a TCP connection, p (if not nil)
// exits or timeout passes.
func WaitTCP(addr string, p *Proc, timeout time.Duration) error {
	return Poll(p, timeout, func() error {
		c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
		if err == nil {
			c.Close()
		}
		return err
	})
}

// Poll calls cond every 50 ms until it returns nil, p (if not nil) exits
// or timeout passes, and returns why it stopped.
func Poll(p *Proc, timeout time.Duration, cond func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		if p != nil && p.Exited() {
			return fmt.Errorf("%s exited (%v)", p.Name, p.waitErr)
		}
		err := cond()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("still failing after %v: %w", timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// WaitFor is Poll in a test: it fails t with what and, if p exited, the
// end of its log.
func WaitFor(t testing.TB, p *Proc, timeout time.Duration, what string, cond func() error) {
	t.Helper()
	if err := Poll(p, timeout, cond); err != nil {
		if p != nil && p.Exited() {
			t.Fatalf("%s: %v; log:\n%s", what, err, p.LogTail(6000))
		}
		t.Fatalf("%s: %v", what, err)
	}
}
