package caddymodule

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

func boolPtr(b bool) *bool { return &b }

// TestUnmarshalCaddyfile covers every subdirective and its errors.
func TestUnmarshalCaddyfile(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		want    Handler
		wantErr string
	}{
		{name: "bare", input: `s3gateway`, want: Handler{}},
		{name: "empty block", input: "s3gateway {\n}", want: Handler{}},
		{name: "minimal form", input: "s3gateway {\n\tconfig /path/to/user.toml\n\torder ORDER_ID\n}",
			want: Handler{Config: "/path/to/user.toml", Order: "ORDER_ID"}},
		{name: "everything", input: `s3gateway {
			config     ~/.lambda_storagecli/config/user.toml
			order      o-1.2_3
			access_key AKIAEXAMPLE
			secret_key {env.S3_SECRET_KEY}
			region     eu-west-1
			domain     s3.example.com
			data       /var/lib/storagecli
			no_sync
			debug
		}`, want: Handler{Config: "~/.lambda_storagecli/config/user.toml", Order: "o-1.2_3", AccessKey: "AKIAEXAMPLE",
			SecretKey: "{env.S3_SECRET_KEY}", Region: "eu-west-1", Domain: "s3.example.com", Data: "/var/lib/storagecli",
			NoSync: boolPtr(true), Debug: true}},
		{name: "no_sync true", input: "s3gateway {\n no_sync true\n}", want: Handler{NoSync: boolPtr(true)}},
		{name: "no_sync false", input: "s3gateway {\n no_sync false\n}", want: Handler{NoSync: boolPtr(false)}},
		{name: "placeholders are checked at load", input: "s3gateway {\n order {env.ORDER}\n region {env.REGION}\n}",
			want: Handler{Order: "{env.ORDER}", Region: "{env.REGION}"}},
		{name: "limits", input: "s3gateway {\n read_idle_timeout 5s\n write_idle_timeout 2m\n max_uploads 100\n max_uploads_per_key 8\n}",
			want: Handler{Limits: map[string]string{"read_idle_timeout": "5s", "write_idle_timeout": "2m", "max_uploads": "100", "max_uploads_per_key": "8"}}},
		{name: "console off", input: "s3gateway {\n console off\n}", want: Handler{Console: "off"}},
		{name: "website", input: "s3gateway {\n website my-site\n}", want: Handler{Website: "my-site"}},
		{name: "website not a bucket", input: "s3gateway {\n website My_Site\n}", wantErr: `website: "My_Site" is not a bucket name`},
		{name: "website twice", input: "s3gateway {\n website a-b\n website c-d\n}", wantErr: "website already specified"},
		{name: "console path", input: "s3gateway {\n console /_admin/\n}", want: Handler{Console: "/_admin/"}},
		{name: "console path shadowing a bucket", input: "s3gateway {\n console /admin/\n}", wantErr: `console: path "/admin/" would hide the bucket "admin"`},
		{name: "bad duration", input: "s3gateway {\n read_idle_timeout soon\n}", wantErr: "read_idle_timeout: "},
		{name: "bad count", input: "s3gateway {\n max_uploads many\n}", wantErr: "max_uploads: "},
		{name: "quoted secret with spaces", input: "s3gateway {\n access_key ak\n secret_key \"s e c\"\n}",
			want: Handler{AccessKey: "ak", SecretKey: "s e c"}},

		{name: "argument on the directive line", input: "s3gateway /srv/data", wantErr: `s3gateway takes no arguments on its line, got "/srv/data"`},
		{name: "unknown subdirective", input: "s3gateway {\n bucket x\n}", wantErr: `unrecognized s3gateway subdirective "bucket"`},
		{name: "repeated subdirective", input: "s3gateway {\n order a\n order b\n}", wantErr: "order already specified"},
		{name: "config without value", input: "s3gateway {\n config\n}", wantErr: "wrong argument count"},
		{name: "config with two values", input: "s3gateway {\n config a b\n}", wantErr: "wrong argument count"},
		{name: "order without value", input: "s3gateway {\n order\n}", wantErr: "wrong argument count"},
		{name: "order empty", input: "s3gateway {\n order \"\"\n}", wantErr: "order: empty value"},
		{name: "order with a slash", input: "s3gateway {\n order a/b\n}", wantErr: `order: order id "a/b" may only contain letters, digits, '.', '_' and '-'`},
		{name: "order dot dot", input: "s3gateway {\n order ..\n}", wantErr: `order: order id ".." is not allowed`},
		{name: "access_key alone", input: "s3gateway {\n access_key ak\n}", wantErr: "access_key and secret_key must be given together"},
		{name: "secret_key alone", input: "s3gateway {\n secret_key sk\n}", wantErr: "access_key and secret_key must be given together"},
		{name: "access_key with a slash", input: "s3gateway {\n access_key a/b\n secret_key s\n}", wantErr: "access_key: must not contain '/'"},
		{name: "access_key two values", input: "s3gateway {\n access_key a b\n secret_key s\n}", wantErr: "wrong argument count"},
		{name: "secret_key two values", input: "s3gateway {\n access_key a\n secret_key s t\n}", wantErr: "wrong argument count"},
		{name: "region", input: "s3gateway {\n region US_EAST\n}", wantErr: `region: "US_EAST" is not a region name`},
		{name: "region without value", input: "s3gateway {\n region\n}", wantErr: "wrong argument count"},
		{name: "domain with scheme", input: "s3gateway {\n domain https://s3.example.com\n}", wantErr: `domain: "https://s3.example.com" is not a DNS name`},
		{name: "domain without value", input: "s3gateway {\n domain\n}", wantErr: "wrong argument count"},
		{name: "data without value", input: "s3gateway {\n data\n}", wantErr: "wrong argument count"},
		{name: "data two values", input: "s3gateway {\n data a b\n}", wantErr: "wrong argument count"},
		{name: "no_sync not a bool", input: "s3gateway {\n no_sync maybe\n}", wantErr: `no_sync: "maybe" is not true or false`},
		{name: "no_sync two values", input: "s3gateway {\n no_sync true false\n}", wantErr: "wrong argument count"},
		{name: "debug with a value", input: "s3gateway {\n debug true\n}", wantErr: "wrong argument count"},
		{name: "subdirective with a block", input: "s3gateway {\n debug {\n  x\n }\n}", wantErr: "debug takes no block"},
		{name: "value with a block", input: "s3gateway {\n order o {\n  x\n }\n}", wantErr: "order takes no block"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(h, tt.want) {
				t.Errorf("got %+v\nwant %+v", h, tt.want)
			}
		})
	}
}

// TestCaddyfileErrorNamesLine checks that a Caddyfile error points at the
// subdirective's line.
func TestCaddyfileErrorNamesLine(t *testing.T) {
	input := "localhost {\n\ts3gateway {\n\t\torder ok\n\t\tregion Bad\n\t}\n}\n"
	_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(input), map[string]any{"filename": "Caddyfile"})
	if err == nil || !strings.Contains(err.Error(), "Caddyfile:4") {
		t.Fatalf("error = %v, want one at Caddyfile:4", err)
	}
}

// TestAdaptGolden adapts the Caddyfiles in testdata/adapt and compares the
// JSON with the golden files next to them (go test -update rewrites them).
func TestAdaptGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "adapt", "*.caddyfile"))
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".caddyfile")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt(src, map[string]any{"filename": in})
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range warnings {
				t.Errorf("warning: %s", w.String())
			}
			var buf bytes.Buffer
			if err := json.Indent(&buf, out, "", "\t"); err != nil {
				t.Fatal(err)
			}
			buf.WriteByte('\n')
			golden := strings.TrimSuffix(in, ".caddyfile") + ".json"
			if *update {
				if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Errorf("adapting %s gives\n%s\nwant (%s)\n%s", in, buf.Bytes(), golden, want)
			}
		})
	}
}
