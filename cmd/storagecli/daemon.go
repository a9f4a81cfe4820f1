package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambda/storagecli/config"
)

// A daemonized gateway is this program run again with the same arguments in
// a new session (setsid), its output appended to the log file, and with
// daemonChildEnv set: the child then serves in the foreground and reports on
// the pipe it finds at file descriptor 3 either "ok <address>" once it
// listens, or "error <message>" if it cannot start.
const (
	daemonChildEnv = "STORAGECLI_DAEMON_CHILD"
	readyFD        = 3
)

func isDaemonChild() bool { return os.Getenv(daemonChildEnv) == "1" }

// readyPipe returns the readiness pipe of a daemon child (nil otherwise),
// and clears the marker so nothing the gateway starts inherits it.
func readyPipe() *os.File {
	if !isDaemonChild() {
		return nil
	}
	os.Unsetenv(daemonChildEnv)
	return os.NewFile(readyFD, "ready")
}

func daemonize(cmd *cobra.Command, gc *gatewayConfig, rf *runFlags) error {
	if running, in, err := probe(gc.home, gc.order); err != nil {
		return err
	} else if running {
		return &errAlreadyRunning{order: gc.order, pid: in.PID}
	}
	logPath := rf.logFile
	if logPath == "" {
		logPath = config.GatewayLogFile(gc.home)
	}
	logFile, err := openLogFile(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	start, _ := logFile.Seek(0, io.SeekEnd)
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer r.Close()
	child := exec.Command(exe, os.Args[1:]...)
	child.Env = append(os.Environ(), daemonChildEnv+"=1")
	child.Stdout = logFile
	child.Stderr = logFile
	child.ExtraFiles = []*os.File{w} // fd 3
	child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := child.Start(); err != nil {
		w.Close()
		return fmt.Errorf("start the gateway: %w", err)
	}
	w.Close()
	pid := child.Process.Pid

	type reply struct {
		line string
		err  error
	}
	ch := make(chan reply, 1)
	go func() {
		line, err := bufio.NewReader(r).ReadString('\n')
		ch <- reply{strings.TrimSpace(line), err}
	}()
	var rep reply
	select {
	case rep = <-ch:
	case <-time.After(rf.startTimeout):
		_ = child.Process.Signal(syscall.SIGTERM)
		return fmt.Errorf("the gateway (pid %d) did not start within %v and was stopped; see %s", pid, rf.startTimeout, logPath)
	}
	switch {
	case strings.HasPrefix(rep.line, "ok "):
		addr := strings.TrimPrefix(rep.line, "ok ")
		out := cmd.OutOrStdout()
		fmt.Fprintf(out, "gateway is running, pid is %d, address %s\n", pid, addr)
		fmt.Fprintf(out, "order %s, log %s\n", gc.order, logPath)
		_ = child.Process.Release()
		return nil
	case strings.HasPrefix(rep.line, "error "):
		_ = child.Wait()
		return errors.New(strings.TrimPrefix(rep.line, "error "))
	}
	// The child exited without a word (crash, killed).
	state := "exited"
	if err := child.Wait(); err != nil {
		state = err.Error()
	}
	msg := fmt.Sprintf("the gateway failed to start (%s); see %s", state, logPath)
	if tail := logTail(logPath, start, 10); tail != "" {
		msg += ":\n" + tail
	}
	return errors.New(msg)
}

// logTail returns the last n lines written to the log at or after offset.
func logTail(path string, offset int64, n int) string {
	b, err := os.ReadFile(path)
	if err != nil || offset > int64(len(b)) {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b[offset:]), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.TrimSpace(strings.Join(lines, "\n"))
}

// gatewayStatus prints whether the order's gateway runs; not running is
// exit status 3.
func gatewayStatus(cmd *cobra.Command, gc *gatewayConfig) error {
	running, in, err := probe(gc.home, gc.order)
	if err != nil {
		return err
	}
	if !running {
		fmt.Fprintln(cmd.OutOrStdout(), "gateway is not running")
		return &exitCodeError{code: exitNotRunning}
	}
	addr := in.Address
	if addr == "" {
		addr = "(starting)"
	}
	fmt.Fprintf(cmd.OutOrStdout(), "gateway.pid is running, pid is %d, address %s, order %s\n", in.PID, addr, gc.order)
	if u := in.Usage; u != nil {
		var total *int64
		if u.Capacity > 0 {
			total = &u.Capacity
		}
		expire := "never expires"
		if !u.Expires.IsZero() {
			expire = "expires " + u.Expires.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(cmd.OutOrStdout(), "order %s: used %s, %d objects, %s, %s\n", gc.order, usedTotal(&u.Bytes, total), u.Objects, expire, u.State)
	}
	return nil
}

// gatewayStop sends SIGTERM to the order's gateway and waits for it to
// release its lock (it has then closed its store).
func gatewayStop(cmd *cobra.Command, gc *gatewayConfig, rf *runFlags) error {
	out := cmd.OutOrStdout()
	running, in, err := probe(gc.home, gc.order)
	if err != nil {
		return err
	}
	if !running {
		os.Remove(config.PIDFile(gc.home, gc.order)) // stale, if any
		fmt.Fprintln(out, "gateway is not running")
		return nil
	}
	if in.PID <= 0 {
		return fmt.Errorf("the gateway for order %s is starting or its data is in use; try again", gc.order)
	}
	if err := syscall.Kill(in.PID, syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop pid %d: %w", in.PID, err)
	}
	timeout := max(rf.shutdownTimeout, in.ShutdownTimeout) + 15*time.Second
	deadline := time.Now().Add(timeout)
	for {
		running, _, err := probe(gc.home, gc.order)
		if err != nil {
			return err
		}
		if !running {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the gateway (pid %d) did not stop within %v", in.PID, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The lock is released just before the process exits.
	for i := 0; i < 50 && processAlive(in.PID); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	os.Remove(config.PIDFile(gc.home, gc.order))
	fmt.Fprintf(out, "gateway stopped, pid was %d\n", in.PID)
	return nil
}

// notifyReady writes the daemon child's readiness line, once.
type readyNotifier struct{ f *os.File }

func (n *readyNotifier) send(format string, args ...any) {
	if n == nil || n.f == nil {
		return
	}
	msg := fmt.Sprintf(format, args...)
	msg = string(bytes.ReplaceAll([]byte(msg), []byte("\n"), []byte("; ")))
	_, _ = n.f.WriteString(msg + "\n")
	n.f.Close()
	n.f = nil
}
