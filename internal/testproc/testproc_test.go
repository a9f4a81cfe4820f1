package testproc

import (
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestProcStopAndKill: a process that exits on SIGTERM stops without an
// error; one that ignores it is killed after the grace period and
// reported; both leave the registry.
func TestProcStopAndKill(t *testing.T) {
	for _, c := range []struct {
		name, script string
		wantErr      string
	}{
		{"exits on SIGTERM", "trap 'kill $!; exit 0' TERM; echo started; sleep 60 & wait", ""},
		{"ignores SIGTERM", "trap '' TERM; echo started; exec sleep 60", "killed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := Start(c.name, "", filepath.Join(t.TempDir(), "log"), exec.Command("sh", "-c", c.script))
			if err != nil {
				t.Fatal(err)
			}
			WaitFor(t, p, 10*time.Second, "the log", func() error {
				if !strings.Contains(p.LogTail(100), "started") {
					return errors.New("not yet")
				}
				return nil
			})
			err = p.Stop(500 * time.Millisecond)
			if (err == nil) != (c.wantErr == "") || err != nil && !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("Stop: %v, want an error with %q", err, c.wantErr)
			}
			if !p.Exited() {
				t.Error("still running after Stop")
			}
			procMu.Lock()
			_, registered := procs[p.Cmd.Process.Pid]
			procMu.Unlock()
			if registered {
				t.Error("still registered after it exited")
			}
		})
	}
}

// TestWaitTCP: WaitTCP returns once the address accepts connections and
// fails at once when the process it waits for exits.
func TestWaitTCP(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := WaitTCP(l.Addr().String(), nil, 5*time.Second); err != nil {
		t.Errorf("listening address: %v", err)
	}
	addr := FreeAddr(t)
	p, err := Start("exits", addr, filepath.Join(t.TempDir(), "log"), exec.Command("true"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := WaitTCP(addr, p, time.Minute); err == nil || !strings.Contains(err.Error(), "exited") {
		t.Errorf("WaitTCP on an exited process: %v, want an error saying it exited", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("WaitTCP took %v to notice the exit", d)
	}
}

// TestIsolatedEnv: the user's AWS, BOTO, STORAGECLI, XDG and HOME settings
// are replaced; the rest is kept.
func TestIsolatedEnv(t *testing.T) {
	for k, v := range map[string]string{"AWS_PROFILE": "p", "BOTO_CONFIG": "b", "STORAGECLI_HOME": "s", "XDG_DATA_HOME": "/x", "KEEP_ME": "k"} {
		t.Setenv(k, v)
	}
	home := t.TempDir()
	env := IsolatedEnv(home)
	for _, kv := range env {
		for _, gone := range []string{"AWS_PROFILE=", "BOTO_CONFIG=", "STORAGECLI_HOME=", "XDG_DATA_HOME=/x"} {
			if strings.HasPrefix(kv, gone) {
				t.Errorf("%s kept", kv)
			}
		}
	}
	for _, want := range []string{"KEEP_ME=k", "HOME=" + home, "XDG_DATA_HOME=" + filepath.Join(home, ".local", "share")} {
		if !slices.Contains(env, want) {
			t.Errorf("%s missing", want)
		}
	}
	aws := AWSEnv(home, "ak", "sk", "/ca.pem")
	for _, want := range []string{"AWS_ACCESS_KEY_ID=ak", "AWS_SECRET_ACCESS_KEY=sk", "AWS_CA_BUNDLE=/ca.pem", "NODE_EXTRA_CA_CERTS=/ca.pem"} {
		if !slices.Contains(aws, want) {
			t.Errorf("AWSEnv: %s missing", want)
		}
	}
}
