package config

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want Size
		ok   bool
	}{
		{"0", 0, true},
		{"1024", 1024, true},
		{"200GiB", 200 << 30, true},
		{"200 gib", 200 << 30, true},
		{"1.5TB", 1_500_000_000_000, true},
		{"1.005kB", 1005, true},
		{"10MB", 10_000_000, true},
		{"1KiB", 1024, true},
		{"5B", 5, true},
		{"1.5", 0, false},
		{"GiB", 0, false},
		{"12XB", 0, false},
		{"-1", 0, false},
		{"99999999PiB", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	for _, s := range []Size{0, 1, 1024, 200 << 30, 1_500_000_000_000} {
		back, err := ParseSize(s.String())
		if err != nil || back != s {
			t.Errorf("%d -> %q -> %d, %v", s, s.String(), back, err)
		}
	}
}

const ordersTOML = `[gateway]
access_key = "main"
secret_key = "mainsecret"

[order.o1]
capacity = "200GiB"
expires  = 2027-01-01T00:00:00Z
grace    = "168h"
block_public_access = true

[[order.o1.keys]]
access_key = "reader"
secret_key = "readersecret"
read_only  = true

[[order.o1.keys]]
access_key = "writer"
secret_key = "writersecret"

[order.o2]
capacity = 1000
expires  = "2026-06-01T12:00:00+02:00"
`

func TestParseOrders(t *testing.T) {
	c, err := Parse([]byte(ordersTOML))
	if err != nil {
		t.Fatal(err)
	}
	o1 := c.Order("o1")
	if o1.Capacity != 200<<30 || o1.Grace != 168*time.Hour || !o1.BlockPublicAccess || !o1.Expires.Equal(time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("o1 = %+v", o1)
	}
	if len(o1.Keys) != 2 || o1.Keys[0].AccessKey != "reader" || !o1.Keys[0].ReadOnly || o1.Keys[1].ReadOnly ||
		string(o1.Keys[1].SecretKey) != "writersecret" {
		t.Errorf("o1 keys = %+v", o1.Keys)
	}
	o2 := c.Order("o2")
	if o2.Capacity != 1000 || o2.BlockPublicAccess || !o2.Expires.Equal(time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)) || o2.Grace != 0 {
		t.Errorf("o2 = %+v", o2)
	}
	if got := c.Order("none"); got.Capacity != 0 || !got.Expires.IsZero() || got.Keys != nil {
		t.Errorf("missing order = %+v", got)
	}
	// Order returns a copy.
	o1.Keys[0].AccessKey = "changed"
	if c.Order("o1").Keys[0].AccessKey != "reader" {
		t.Error("Order shares its keys")
	}
	// Secrets of order keys never print.
	for _, out := range []string{c.String(), string(c.Redacted().TOML(false)), string(c.TOML(true))} {
		if strings.Contains(out, "readersecret") || strings.Contains(out, "writersecret") || strings.Contains(out, "mainsecret") {
			t.Errorf("secret printed:\n%s", out)
		}
	}
	if string(c.Order("o1").Keys[0].SecretKey) != "readersecret" {
		t.Error("Redacted changed the original")
	}
	// Save and Load round-trip every setting.
	path := filepath.Join(t.TempDir(), "user.toml")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(back.TOML(false)) != string(c.TOML(false)) {
		t.Errorf("round trip:\n%s\nwant\n%s", back.TOML(false), c.TOML(false))
	}
	if k := back.Order("o1").Keys; len(k) != 2 || string(k[0].SecretKey) != "readersecret" {
		t.Errorf("keys after round trip: %+v", k)
	}
}

func TestParseOrderErrors(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr []string
	}{
		{"bad capacity", "[order.o1]\ncapacity = \"lots\"\n", []string{"not a size"}},
		{"negative capacity", "[order.o1]\ncapacity = -5\n", []string{"order.o1.capacity", "negative"}},
		{"bad expires", "[order.o1]\nexpires = \"next year\"\n", []string{"RFC 3339"}},
		{"local expires", "[order.o1]\nexpires = 2027-01-01T00:00:00\n", []string{"offset"}},
		{"bad grace", "[order.o1]\ngrace = \"a while\"\n", []string{"line 2"}},
		{"negative grace", "[order.o1]\ngrace = \"-1h\"\n", []string{"order.o1.grace", "negative"}},
		{"grace without unit", "[order.o1]\ngrace = 168\n", []string{"order.o1.grace", "with its unit"}},
		{"unknown key in keys", "[order.o1]\n[[order.o1.keys]]\naccess_key = \"a\"\nsecret_key = \"bbbbbbbb\"\nreadonly = true\n",
			[]string{"line 5", "order.o1.keys.readonly"}},
		{"empty secret", "[order.o1]\n[[order.o1.keys]]\naccess_key = \"a\"\n", []string{"order.o1.keys[0].secret_key", "empty"}},
		{"duplicate key", "[order.o1]\n[[order.o1.keys]]\naccess_key = \"accesskey\"\nsecret_key = \"xxxxxxxx\"\n",
			[]string{"order.o1.keys[0].access_key", "already used by gateway.access_key"}},
		{"duplicate across orders", "[order.a]\n[[order.a.keys]]\naccess_key = \"k\"\nsecret_key = \"xxxxxxxx\"\n[order.b]\n[[order.b.keys]]\naccess_key = \"k\"\nsecret_key = \"yyyyyyyy\"\n",
			[]string{"order.b.keys[0].access_key", "order.a.keys[0]"}},
		{"secret not echoed", "[order.o1]\n[[order.o1.keys]]\naccess_key = \"a\"\nsecret_key = hunter22\n", []string{"line 4", "not shown"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.in))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, s := range []string{"xxxxxxxx", "yyyyyyyy", "hunter22"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error %q shows a secret", err)
				}
			}
		})
	}
}

// TestGatewayKeyServes: the [gateway] pair opens the file's default order,
// and a served order only when that order has no keys or the pair was
// given for it.
func TestGatewayKeyServes(t *testing.T) {
	const file = `
[broker]
extra_order_id = "main"
[order.keyed]
[[order.keyed.keys]]
access_key = "k"
secret_key = "s"
[order.bare]
capacity = 10
`
	for _, tc := range []struct {
		name  string
		serve string // broker.extra_order_id override; "" none
		pair  bool   // gateway.access_key overridden
		id    string
		want  bool
	}{
		{"file default", "", false, "main", true},
		{"other order not served", "", false, "bare", false},
		{"served order without keys", "bare", false, "bare", true},
		{"served order with keys", "keyed", false, "keyed", false},
		{"served order with keys, pair given", "keyed", true, "keyed", true},
		{"file default while serving another", "keyed", false, "main", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse([]byte(file))
			if err != nil {
				t.Fatal(err)
			}
			if tc.serve != "" {
				if err := c.Set("broker.extra_order_id", tc.serve); err != nil {
					t.Fatal(err)
				}
			}
			if tc.pair {
				if err := c.Set("gateway.access_key", "explicit"); err != nil {
					t.Fatal(err)
				}
			}
			if got := c.GatewayKeyServes(tc.id); got != tc.want {
				t.Errorf("GatewayKeyServes(%q) = %v, want %v", tc.id, got, tc.want)
			}
		})
	}
}
