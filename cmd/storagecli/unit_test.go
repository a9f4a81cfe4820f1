package main

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/lambda/storagecli/config"
)

func TestApplyFlags(t *testing.T) {
	tests := []struct {
		name    string
		file    string // TOML over the defaults
		args    []string
		want    map[string]string
		wantErr string
	}{
		{
			name: "no flags keep the file",
			file: "[gateway]\naddress = \"0.0.0.0:9100\"\n",
			want: map[string]string{"gateway.address": "0.0.0.0:9100", "broker.extra_order_id": "default"},
		},
		{
			name: "flags override the file",
			file: "[gateway]\naddress = \"0.0.0.0:9100\"\nregion = \"eu-west-1\"\n[broker]\nextra_order_id = \"a\"\n",
			args: []string{"--gateway.address", "127.0.0.1:1", "--broker.extra_order_id=b", "--gateway.region", "", "--gateway.no_sync"},
			want: map[string]string{"gateway.address": "127.0.0.1:1", "broker.extra_order_id": "b", "gateway.region": "", "gateway.no_sync": "true"},
		},
		{
			name: "credentials and domain",
			args: []string{"--gateway.access_key", "AK", "--gateway.secret_key", "SK", "--gateway.domain", "s3.local"},
			want: map[string]string{"gateway.access_key": "AK", "gateway.secret_key": "SK", "gateway.domain": "s3.local"},
		},
		{
			name: "absolute and ~ db_path kept",
			args: []string{"--broker.db_path", "~/data"},
			want: map[string]string{"broker.db_path": "~/data"},
		},
		{name: "bad address", args: []string{"--gateway.address", "x"}, wantErr: "--gateway.address"},
		{name: "bad order id", args: []string{"--broker.extra_order_id", "a/b"}, wantErr: "may only contain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			cmd := newGatewayRunCmd(&globalFlags{})
			if err := cmd.ParseFlags(tt.args); err != nil {
				t.Fatal(err)
			}
			err = applyFlags(cfg, cmd.Flags())
			if tt.wantErr != "" {
				var ue *usageError
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("error %v, want usage error with %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.want {
				if got, _ := cfg.Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	// A relative --broker.db_path is relative to the working directory.
	cfg := config.Default()
	cmd := newGatewayRunCmd(&globalFlags{})
	if err := cmd.ParseFlags([]string{"--broker.db_path", "data"}); err != nil {
		t.Fatal(err)
	}
	if err := applyFlags(cfg, cmd.Flags()); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if cfg.Broker.DBPath != wd+"/data" {
		t.Errorf("db_path %q, want %q", cfg.Broker.DBPath, wd+"/data")
	}
}

func TestEnvCredentials(t *testing.T) {
	tests := []struct {
		name        string
		env         map[string]string
		ak, sk, src string
		wantErr     string
	}{
		{name: "none", env: nil},
		{name: "storagecli pair", env: map[string]string{envAccessKey: "a", envSecretKey: "s"}, ak: "a", sk: "s", src: envAccessKey + "/" + envSecretKey},
		{name: "aws variables are ignored", env: map[string]string{"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y"}},
		{name: "half storagecli pair", env: map[string]string{envSecretKey: "s"}, wantErr: envSecretKey + " is set but " + envAccessKey + " is not"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ak, sk, src, err := envCredentials(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "\"s\"") || strings.Contains(err.Error(), "=s") {
					t.Errorf("error shows a value: %v", err)
				}
				return
			}
			if err != nil || ak != tt.ak || sk != tt.sk || src != tt.src {
				t.Errorf("got %q %q %q %v", ak, sk, src, err)
			}
		})
	}
}

func TestLock(t *testing.T) {
	home := t.TempDir()
	if running, _, err := probe(home, "o"); running || err != nil {
		t.Fatalf("probe before: %v %v", running, err)
	}
	// A stale pid file (no lock holder) is ignored.
	if err := os.MkdirAll(config.RunDir(home), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(config.PIDFile(home, "o"), []byte("999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if running, _, _ := probe(home, "o"); running {
		t.Fatal("stale pid file taken for a running gateway")
	}
	l, err := acquireLock(home, "o", 0)
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	if err := l.publish(instance{PID: pid, Order: "o", Address: "127.0.0.1:1"}); err != nil {
		t.Fatal(err)
	}
	running, in, err := probe(home, "o")
	if !running || err != nil || in.PID != pid || in.Address != "127.0.0.1:1" {
		t.Fatalf("probe while held: %v %+v %v", running, in, err)
	}
	_, err = acquireLock(home, "o", lockWait)
	var ar *errAlreadyRunning
	if !errors.As(err, &ar) || ar.pid != pid || !strings.Contains(err.Error(), "gateway for order o is already running, pid") {
		t.Fatalf("second acquire: %v", err)
	}
	// Other orders are independent.
	l2, err := acquireLock(home, "p", 0)
	if err != nil {
		t.Fatal(err)
	}
	l2.release()
	l.release()
	if running, _, _ := probe(home, "o"); running {
		t.Fatal("running after release")
	}
	if _, err := os.Stat(config.PIDFile(home, "o")); !os.IsNotExist(err) {
		t.Errorf("pid file left: %v", err)
	}
}

func TestHumanBytes(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB", 5 << 30: "5.0 GiB", 1 << 50: "1.0 PiB"} {
		if got := humanBytes(n); got != want {
			t.Errorf("humanBytes(%d) = %q, want %q", n, got, want)
		}
	}
}
