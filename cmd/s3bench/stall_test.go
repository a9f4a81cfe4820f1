package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/lambda/storagecli/internal/miniotest"
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
	stallRSS(t, func(t *testing.T, bin, addr string) *exec.Cmd {
		home := t.TempDir()
		if out, err := exec.Command(bin, "init", "--home", home).CombinedOutput(); err != nil {
			t.Fatalf("init: %v\n%s", err, out)
		}
		return exec.Command(bin, "gateway", "run", "--home", home, "--gateway.address", addr, "--gateway.no_sync")
	}, 100)
}

// TestStallRSSUpstream is TestStallRSS in upstream mode (over a
// single-node MinIO): 1,000 stalled uploads keep the gateway under
// 200 MiB of RSS (before: 385–420 MiB; now 115–140 MiB, see
// docs/upstream.md).
func TestStallRSSUpstream(t *testing.T) {
	if testing.Short() {
		t.Skip("builds storagecli, runs MinIO and holds 1,000 connections")
	}
	srv := miniotest.Start(t, miniotest.Options{})
	cl, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(srv.AccessKey, srv.SecretKey, "")})
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.MakeBucket(context.Background(), "orders", minio.MakeBucketOptions{}); err != nil {
		t.Fatal(err)
	}
	stallRSS(t, func(t *testing.T, bin, addr string) *exec.Cmd {
		home := t.TempDir()
		if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
			t.Fatal(err)
		}
		order := fmt.Sprintf("o%d", time.Now().UnixNano())
		conf := fmt.Sprintf("[gateway]\naddress = %q\naccess_key = \"accesskey\"\nsecret_key = \"secretkey\"\n\n"+
			"[broker]\nextra_order_id = %q\n\n[order.%s.upstream]\nendpoint = \"http://%s\"\nbucket = \"orders\"\nprefix = \"%s/\"\n",
			addr, order, order, srv.Endpoint, order)
		if err := os.WriteFile(filepath.Join(home, "config", "user.toml"), []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "--home", home, "gateway", "run", "--account", "env")
		cmd.Env = append(testproc.IsolatedEnv(filepath.Join(home, "user-home")),
			"STORAGECLI_UPSTREAM_ACCESS_KEY="+srv.AccessKey, "STORAGECLI_UPSTREAM_SECRET_KEY="+srv.SecretKey)
		return cmd
	}, 200)
}

// stallRSS builds storagecli and, for each payload, starts the gateway
// gateway(addr) returns, holds 1,000 stalled uploads on it and wants its
// RSS under maxMiB.
func stallRSS(t *testing.T, gateway func(t *testing.T, bin, addr string) *exec.Cmd, maxMiB float64) {
	b := &testproc.Builder{RepoRoot: filepath.Join("..", ".."), OutDir: t.TempDir()}
	bin := b.Build(t, "storagecli")
	for _, payload := range []string{payloadSigned, payloadChunked} {
		t.Run(payload, func(t *testing.T) {
			addr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
			cmd := gateway(t, bin, addr)
			log, err := os.Create(filepath.Join(t.TempDir(), "gateway.log"))
			if err != nil {
				t.Fatal(err)
			}
			defer log.Close()
			cmd.Stdout, cmd.Stderr = log, log
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
					out, _ := os.ReadFile(log.Name())
					t.Fatalf("storagecli did not listen\n%s", out)
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
			if res.RSSStalledMiB >= maxMiB {
				t.Errorf("RSS with %d stalled uploads: %.1f MiB, want under %.0f", res.Count, res.RSSStalledMiB, maxMiB)
			}
		})
	}
}
