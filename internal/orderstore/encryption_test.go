package orderstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway/sse"
)

// TestEncryption: the order keys are the key file in the order's data
// directory, or encryption_key_file (resolved against the home); an
// upstream order has none; the config refuses a key file for one.
func TestEncryption(t *testing.T) {
	home := t.TempDir()
	for name, tc := range map[string]struct {
		toml string
		want string // the key file created, relative to home ("": none)
	}{
		"default":  {"", "orders/o1/" + sse.KeyFileName},
		"key file": {"[order.o1]\nencryption_key_file = \"keys/o1.keys\"\n", "keys/o1.keys"},
		"upstream": {"[order.o1.upstream]\nendpoint = \"http://127.0.0.1:1\"\nbucket = \"bkt\"\naccess_key = \"a\"\nsecret_key = \"s\"\n", ""},
	} {
		t.Run(name, func(t *testing.T) {
			c := parse(t, "[broker]\ndb_path = \"orders\"\n"+tc.toml)
			h := filepath.Join(home, strings.ReplaceAll(name, " ", "-"))
			os.MkdirAll(filepath.Join(h, "keys"), 0o700)
			loc := Locate(c, h, "o1")
			if loc.Kind == KindEmbedded {
				st, _, err := Open(c, h, "o1", Options{NoSync: true}) // makes the data directory
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()
			}
			kr, err := Encryption(c, h, "o1", loc)
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				if kr != nil {
					t.Fatal("order keys for an upstream order")
				}
				return
			}
			fi, err := os.Stat(filepath.Join(h, tc.want))
			if err != nil || kr == nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("key file %s: %v (keys %v)", tc.want, err, kr != nil)
			}
		})
	}
	if _, err := config.Parse([]byte("[order.o1]\nencryption_key_file = \"k\"\n[order.o1.upstream]\nendpoint = \"http://127.0.0.1:1\"\nbucket = \"bkt\"\n")); err == nil ||
		!strings.Contains(err.Error(), "encryption_key_file") {
		t.Errorf("a key file for an upstream order: %v", err)
	}
}
