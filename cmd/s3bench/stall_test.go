package main

import (
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestStallRSS: 1,000 uploads stalled 10 KiB before their end (1 MiB each,
// to different keys), header-signed and chunk-signed, keep
// `storagecli gateway run` under 100 MiB of RSS (before issue 12 it held
// about 1 MiB per upload: 400 MiB and 1 GiB).
func TestStallRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds storagecli and holds 1,000 connections")
	}
	b := &testproc.Builder{RepoRoot: filepath.Join("..", ".."), OutDir: t.TempDir()}
	bin := b.Build(t, "storagecli")
	for _, payload := range []string{payloadSigned, payloadChunked} {
		t.Run(payload, func(t *testing.T) {
			home := t.TempDir()
			addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
			if out, err := exec.Command(bin, "init", "--home", home).CombinedOutput(); err != nil {
				t.Fatalf("init: %v\n%s", err, out)
			}
			cmd := exec.Command(bin, "gateway", "run", "--home", home, "--gateway.address", addr, "--gateway.no_sync")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			testproc.Register(cmd.Process.Pid, "storagecli")
			defer func() {
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				testproc.Unregister(cmd.Process.Pid)
			}()
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
				if c, err := net.Dial("tcp", addr); err == nil {
					c.Close()
					break
				}
				if time.Now().After(deadline) {
					t.Fatal("storagecli did not listen")
				}
			}
			res, err := Stall(t.Context(), stallConfig{Endpoint: "http://" + addr, AccessKey: "accesskey", SecretKey: "secretkey",
				Region: "us-east-1", Bucket: "stall", Count: 1000, Size: 1 << 20, Tail: 10 << 10, Payload: payload,
				PID: cmd.Process.Pid, Settle: 3 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", *res)
			if res.Answered > 0 {
				t.Errorf("%d stalled uploads were answered while held", res.Answered)
			}
			if res.RSSStalledMiB >= 100 {
				t.Errorf("RSS with %d stalled uploads: %.1f MiB, want under 100", res.Count, res.RSSStalledMiB)
			}
		})
	}
}
