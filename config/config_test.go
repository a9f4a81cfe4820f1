package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const topSecret = "s3cr3t-Value-42"

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantErr []string // substrings of the error; nil: no error
		check   func(t *testing.T, c *Config)
	}{
		{
			name: "empty file is the defaults",
			in:   "",
			check: func(t *testing.T, c *Config) {
				if string(c.TOML(false)) != string(Default().TOML(false)) {
					t.Errorf("got %v, want defaults", c)
				}
			},
		},
		{
			name: "partial file keeps the other defaults",
			in:   "[gateway]\naddress = \"0.0.0.0:9100\"\nno_sync = true\n[broker]\nextra_order_id = \"o-1\"\n",
			check: func(t *testing.T, c *Config) {
				if c.Gateway.Address != "0.0.0.0:9100" || !c.Gateway.NoSync || c.Broker.ExtraOrderID != "o-1" {
					t.Errorf("settings not read: %+v", c)
				}
				if c.Gateway.AccessKey != DefaultAccessKey || c.Broker.DBPath != DefaultDBPath || c.Gateway.Region != DefaultRegion {
					t.Errorf("defaults lost: %+v", c)
				}
			},
		},
		{
			name: "full file with orders",
			in: `[gateway]
address    = "[::1]:9002"
access_key = "AK"
secret_key = "` + topSecret + `"
region     = ""
domain     = "s3.example.com"
no_sync    = false
[broker]
extra_order_id = "123"
db_path = "/var/lib/sc"
[order.123]
[order."abc.d-e_f"]
`,
			check: func(t *testing.T, c *Config) {
				if c.Gateway.SecretKey != topSecret || c.Gateway.Region != "" || c.Gateway.Domain != "s3.example.com" {
					t.Errorf("got %+v", c.Gateway)
				}
				if got := strings.Join(c.OrderIDs(), ","); got != "123,abc.d-e_f" {
					t.Errorf("OrderIDs = %s", got)
				}
			},
		},
		{name: "unknown key names key and line", in: "[gateway]\naddress = \"1.2.3.4:5\"\n\nadress = \"x\"\n", wantErr: []string{"line 4", `"gateway.adress"`, `did you mean "gateway.address"`}},
		{name: "unknown table reported once", in: "# c\n[foo]\nx = 1\ny = 2\n", wantErr: []string{"line 2", `unknown key "foo"`}},
		{name: "unknown top-level key", in: "verbose = true\n", wantErr: []string{"line 1", `"verbose"`}},
		{name: "unknown dotted key", in: "gateway.adress = \"x\"\n", wantErr: []string{"line 1", `"gateway.adress"`}},
		{name: "unknown key in inline table", in: "\ngateway = { address = \"a:1\", bogus = 1 }\n", wantErr: []string{"line 2", `"gateway.bogus"`}},
		{name: "unknown key after multi-line string", in: "[gateway]\ndomain = \"\"\"\nx = 1\n\"\"\"\nx = 2\n", wantErr: []string{"line 5", `"gateway.x"`}},
		{name: "unknown per-order key", in: "[order.o1]\n\ncapacty = 10\n", wantErr: []string{"line 3", `"order.o1.capacty"`, `did you mean "order.o1.capacity"`}},
		{name: "two unknown keys", in: "a = 1\n[gateway]\nb = 2\n", wantErr: []string{"line 1", `"a"`, "line 3", `"gateway.b"`}},
		{name: "syntax error names line", in: "[gateway]\naddress = \"x:1\"\n[broker\n", wantErr: []string{"line 3"}},
		{name: "type error names line and key", in: "[gateway]\n\nno_sync = \"yes\"\n", wantErr: []string{"line 3", "gateway.no_sync", "expected a boolean, found a string"}},
		{name: "string expected", in: "[gateway]\naddress = 9002\n", wantErr: []string{"line 2", "gateway.address", "expected a string, found a integer"}},
		{name: "bad address", in: "[gateway]\naddress = \"localhost\"\n", wantErr: []string{"gateway.address", "not host:port"}},
		{name: "bad port", in: "[gateway]\naddress = \"localhost:http\"\n", wantErr: []string{"gateway.address", "port"}},
		{name: "bad order id", in: "[broker]\nextra_order_id = \"../x\"\n", wantErr: []string{"broker.extra_order_id", "may only contain"}},
		{name: "dot-dot order id", in: "[broker]\nextra_order_id = \"..\"\n", wantErr: []string{"broker.extra_order_id", "not allowed"}},
		{name: "bad order table id", in: "[order.\"a/b\"]\n", wantErr: []string{`order."a/b"`}},
		{name: "empty access key", in: "[gateway]\naccess_key = \"\"\n", wantErr: []string{"gateway.access_key", "empty"}},
		{name: "access key with slash", in: "[gateway]\naccess_key = \"a/b\"\n", wantErr: []string{"gateway.access_key"}},
		{name: "empty secret", in: "[gateway]\nsecret_key = \"\"\n", wantErr: []string{"gateway.secret_key", "empty"}},
		{name: "bad region", in: "[gateway]\nregion = \"US East\"\n", wantErr: []string{"gateway.region"}},
		{name: "bad domain", in: "[gateway]\ndomain = \"http://x.com\"\n", wantErr: []string{"gateway.domain"}},
		{name: "bad website domain", in: "[gateway]\nwebsite_domain = \"x.com/site\"\n", wantErr: []string{"gateway.website_domain"}},
		{name: "website domain is the domain", in: "[gateway]\ndomain = \"s3.x.com\"\nwebsite_domain = \"S3.x.com\"\n", wantErr: []string{"gateway.website_domain", "differ"}},
		{name: "empty db_path", in: "[broker]\ndb_path = \"\"\n", wantErr: []string{"broker.db_path"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.in))
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tt.check != nil {
					tt.check(t, c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse succeeded, want error with %q", tt.wantErr)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLineErrorFields(t *testing.T) {
	_, err := Parse([]byte("[gateway]\nadress = 1\n"))
	var le *LineError
	if !errors.As(err, &le) || le.Line != 2 || le.Key != "gateway.adress" {
		t.Fatalf("got %#v", err)
	}
}

// Secrets written in a broken file must not be echoed in the error.
func TestErrorsNeverShowSecrets(t *testing.T) {
	tests := []string{
		"[gateway]\nsecret_key = " + topSecret + "\n",
		"[gateway]\nsecret_key = \"" + topSecret + "\n",
		"[gateway]\nsecret_key = '" + topSecret + "\n",
		"[gateway]\nsecret_key = \"" + topSecret + "\" junk\n",
		"[gateway]\nsecret_key = \"" + topSecret + "\"\nsecret_key = \"" + topSecret + "\"\n",
		"[gateway]\nsecret_key = [\"" + topSecret + "\"]\n",
		"[gateway]\nsecret_key = \"" + topSecret + "\"\naddress = \"nope\"\n",
		"gateway = { secret_key = " + topSecret + " }\n",
		"[gateway]\nsecret_key = \"" + topSecret + "\\q\"\n",
	}
	for i, in := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			_, err := Parse([]byte(in))
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), topSecret) || strings.Contains(err.Error(), topSecret[:8]) {
				t.Errorf("error shows the secret: %v", err)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "user.toml")
	if _, err := Load(path); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing file: got %v, want ErrNotExist", err)
	}
	if err := os.WriteFile(path, []byte("[gateway]\nbogus = 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("got %v, want error naming %s and line 2", err, path)
	}
}

func TestSaveRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "config", "user.toml")
	c := Default()
	c.Gateway.SecretKey = `we"ird\sec ret` + "\t\u00e9"
	c.Gateway.Domain = "s3.local"
	c.Gateway.NoSync = true
	c.Broker.ExtraOrderID = "o1"
	c.Orders = map[string]Order{"o1": {}, "b.2": {}}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	got, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != c.String() || got.Gateway.SecretKey != c.Gateway.SecretKey {
		t.Errorf("round trip:\n%s\nwant\n%s", got, c)
	}
	if len(got.Orders) != 2 {
		t.Errorf("orders: %v", got.Orders)
	}
	// An invalid config is not saved.
	c.Gateway.Address = "bad"
	if err := c.Save(path); err == nil {
		t.Error("saved an invalid config")
	}
	if again, err := Load(path); err != nil || again.Gateway.Address != DefaultAddress {
		t.Errorf("file changed by failed save: %v %v", again, err)
	}
	// The default config's file loads to the default config.
	if err := Default().Save(path); err != nil {
		t.Fatal(err)
	}
	if d, err := Load(path); err != nil || d.TOML(false) == nil || string(d.TOML(false)) != string(Default().TOML(false)) {
		t.Errorf("defaults round trip: %v", err)
	}
}

func TestRedaction(t *testing.T) {
	c := Default()
	c.Gateway.SecretKey = topSecret
	js, _ := json.Marshal(c)
	outputs := map[string]string{
		"String":   c.String(),
		"Redacted": fmt.Sprintf("%+v", *c.Redacted()),
		"%v":       fmt.Sprintf("%v", *c),
		"%+v":      fmt.Sprintf("%+v", *c),
		"%#v":      fmt.Sprintf("%#v", *c),
		"%s":       fmt.Sprintf("%s", c.Gateway.SecretKey),
		"%q":       fmt.Sprintf("%q", c.Gateway.SecretKey),
		"json":     string(js),
	}
	for name, out := range outputs {
		if strings.Contains(out, topSecret) {
			t.Errorf("%s shows the secret: %s", name, out)
		}
	}
	if !regexp.MustCompile(`secret_key +=  *"` + regexp.QuoteMeta(Mask) + `"`).MatchString(c.String()) {
		t.Errorf("String does not show the mask:\n%s", c)
	}
	if c.Gateway.SecretKey != topSecret {
		t.Error("Redacted changed the original")
	}
	if !strings.Contains(string(c.TOML(false)), topSecret) {
		t.Error("TOML(false) lost the secret")
	}
}

func TestGetSet(t *testing.T) {
	tests := []struct {
		key, value string
		wantErr    string // "" for success
		get        string // expected Get after Set ("" = value)
	}{
		{key: "gateway.address", value: "0.0.0.0:9100"},
		{key: "gateway.address", value: "nohost", wantErr: "not host:port"},
		{key: "gateway.access_key", value: "AKIA123"},
		{key: "gateway.secret_key", value: "new secret"},
		{key: "gateway.region", value: ""},
		{key: "gateway.region", value: "eu-west-1"},
		{key: "gateway.domain", value: "s3.example.org"},
		{key: "gateway.no_sync", value: "true"},
		{key: "gateway.no_sync", value: "1", get: "true"},
		{key: "gateway.no_sync", value: "yes", wantErr: "not a boolean"},
		{key: "broker.extra_order_id", value: "order-7"},
		{key: "broker.extra_order_id", value: "a b", wantErr: "may only contain"},
		{key: "broker.db_path", value: "/data/sc"},
		{key: "gateway.adress", value: "x", wantErr: `did you mean "gateway.address"`},
		{key: "nosuch", value: "x", wantErr: "unknown key"},
		{key: "gateway", value: "x", wantErr: "unknown key"},
		{key: "gateway..address", value: "x", wantErr: "empty part"},
		{key: "order.o1.capacty", value: "1", wantErr: "unknown key"},
		{key: "order.o1.capacity", value: "200GiB"},
		{key: "order.o1.capacity", value: "lots", wantErr: "not a size"},
		{key: "order.o1.expires", value: "2027-01-01T00:00:00Z"},
		{key: "order.o1.expires", value: "tomorrow", wantErr: "RFC 3339"},
		{key: "order.o1.grace", value: "24h", get: "24h0m0s"},
		{key: "order.o1.keys", value: "x", wantErr: "unknown key"},
	}
	for _, tt := range tests {
		t.Run(tt.key+"="+tt.value, func(t *testing.T) {
			c := Default()
			before := c.TOML(false)
			err := c.Set(tt.key, tt.value)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Set error %v, want %q", err, tt.wantErr)
				}
				if string(c.TOML(false)) != string(before) {
					t.Error("failed Set changed the config")
				}
				return
			}
			if err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, err := c.Get(tt.key)
			want := tt.get
			if want == "" {
				want = tt.value
			}
			if err != nil || got != want {
				t.Errorf("Get = %q, %v; want %q", got, err, want)
			}
		})
	}
}

func TestGetDefaults(t *testing.T) {
	c := Default()
	for key, want := range map[string]string{
		"gateway.address":       DefaultAddress,
		"gateway.access_key":    DefaultAccessKey,
		"gateway.secret_key":    DefaultSecretKey,
		"gateway.region":        DefaultRegion,
		"gateway.domain":        "",
		"gateway.no_sync":       "false",
		"broker.extra_order_id": DefaultExtraOrderID,
		"broker.db_path":        DefaultDBPath,
	} {
		if got, err := c.Get(key); err != nil || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", key, got, err, want)
		}
	}
	if _, err := c.Get("order.x.y"); err == nil {
		t.Error("Get of an unknown per-order key succeeded")
	}
	if !IsSecret("gateway.secret_key") || IsSecret("gateway.access_key") {
		t.Error("IsSecret")
	}
}

func TestKeys(t *testing.T) {
	var names []string
	for _, k := range Keys() {
		names = append(names, k.Key+":"+k.Type)
		if k.Doc == "" {
			t.Errorf("%s has no doc", k.Key)
		}
	}
	want := "gateway.address:string gateway.access_key:string gateway.secret_key:string gateway.region:string gateway.domain:string gateway.website_domain:string gateway.no_sync:bool" +
		" gateway.read_idle_timeout:duration gateway.write_idle_timeout:duration gateway.max_uploads:int gateway.max_uploads_per_key:int gateway.max_header_bytes:size gateway.console:bool gateway.console_path:string gateway.sse_c_plain_http:bool" +
		" broker.extra_order_id:string broker.db_path:string" +
		" order.<id>.capacity:size order.<id>.expires:time order.<id>.grace:duration order.<id>.block_public_access:bool order.<id>.lifecycle_day:duration order.<id>.encryption_key_file:string" +
		" order.<id>.keys.access_key:string order.<id>.keys.secret_key:string order.<id>.keys.read_only:bool order.<id>.keys.bypass_governance:bool" +
		" order.<id>.upstream.endpoint:string order.<id>.upstream.bucket:string order.<id>.upstream.prefix:string" +
		" order.<id>.upstream.access_key:string order.<id>.upstream.secret_key:string order.<id>.upstream.ca_file:string" +
		" order.<id>.upstream.region:string order.<id>.upstream.dial_timeout:duration order.<id>.upstream.response_timeout:duration" +
		" order.<id>.upstream.max_retries:int order.<id>.upstream.buffer_size:size order.<id>.upstream.bucket_cache_ttl:duration" +
		" order.<id>.upstream.usage_cache_ttl:duration order.<id>.upstream.transfer_check:string"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("Keys:\n%s\nwant\n%s", got, want)
	}
}

func TestExpandPath(t *testing.T) {
	tests := []struct{ p, home, want string }{
		{"~/.lambda_storagecli/gateway", "/home/u/.lambda_storagecli", "/home/u/.lambda_storagecli/gateway"},
		{"~/.lambda_storagecli/gateway", "/tmp/t1", "/tmp/t1/gateway"},
		{"~/.lambda_storagecli", "/tmp/t1", "/tmp/t1"},
		{"~/data", "/home/u/.lambda_storagecli", "/home/u/data"},
		{"~/data", "/tmp/t1/h", "/tmp/t1/data"},
		{"~", "/home/u/.lambda_storagecli", "/home/u"},
		{"/abs/./x", "/tmp/h", "/abs/x"},
		{"rel/x", "/tmp/h", "/tmp/h/rel/x"},
	}
	for _, tt := range tests {
		if got := ExpandPath(tt.p, tt.home); got != tt.want {
			t.Errorf("ExpandPath(%q, %q) = %q, want %q", tt.p, tt.home, got, tt.want)
		}
	}
	c := Default()
	if got := c.OrderDataDir("/tmp/h", "o1"); got != "/tmp/h/gateway/o1" {
		t.Errorf("OrderDataDir = %s", got)
	}
}

func TestPaths(t *testing.T) {
	home := "/h"
	for got, want := range map[string]string{
		ConfigPath(home):             "/h/config/user.toml",
		RunDir(home):                 "/h/run",
		GatewayLogFile(home):         "/h/log/gateway.log",
		PIDFile(home, "o1"):          "/h/run/gateway-o1.pid",
		LockFile(home, "o1"):         "/h/run/gateway-o1.lock",
		filepath.Base(DefaultHome()): HomeDirName,
	} {
		if got != want {
			t.Errorf("got %s, want %s", got, want)
		}
	}
}

func TestValidateOrderID(t *testing.T) {
	tests := []struct {
		id string
		ok bool
	}{
		{"default", true}, {"123", true}, {"a.b-c_D", true}, {"", false}, {".", false}, {"..", false},
		{"a/b", false}, {"a b", false}, {"é", false}, {strings.Repeat("x", MaxOrderIDLength), true},
		{strings.Repeat("x", MaxOrderIDLength+1), false},
	}
	for _, tt := range tests {
		if err := ValidateOrderID(tt.id); (err == nil) != tt.ok {
			t.Errorf("ValidateOrderID(%q) = %v, want ok=%v", tt.id, err, tt.ok)
		}
	}
}
