package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const upstreamTOML = `[broker]
extra_order_id = "o1"

[order.o1.upstream]
endpoint   = "http://127.0.0.1:9000"
bucket     = "orders"
prefix     = "o1/"
access_key = "minio"
secret_key = "` + topSecret + `"
ca_file    = ""
dial_timeout = "2s"
response_timeout = "90s"
max_retries = 5
buffer_size = "4MiB"
bucket_cache_ttl = "-1s"
usage_cache_ttl = "1m"
transfer_check = "md5"

[order.o2]
capacity = "1GiB"

[order.o2.upstream]
endpoint = "https://s3.internal:9000/"
bucket   = "orders"
prefix   = "o2/"
region   = "eu-west-1"
`

func TestParseUpstream(t *testing.T) {
	c, err := Parse([]byte(upstreamTOML))
	if err != nil {
		t.Fatal(err)
	}
	u := c.Order("o1").Upstream
	want := Upstream{Endpoint: "http://127.0.0.1:9000", Bucket: "orders", Prefix: "o1/", AccessKey: "minio",
		SecretKey: topSecret, DialTimeout: 2 * time.Second, ResponseTimeout: 90 * time.Second, MaxRetries: 5,
		BufferSize: 4 << 20, BucketCacheTTL: -time.Second, UsageCacheTTL: time.Minute, TransferCheck: "md5"}
	if u == nil || *u != want {
		t.Fatalf("o1 upstream = %+v, want %+v", u, want)
	}
	if u2 := c.Order("o2").Upstream; u2 == nil || u2.Region != "eu-west-1" || u2.AccessKey != "" || c.Order("o2").Capacity != 1<<30 {
		t.Errorf("o2 = %+v", c.Order("o2"))
	}
	if c.Order("default").Upstream != nil {
		t.Error("an order without a table has an upstream")
	}
	// Order returns a copy: changing it does not change the config.
	c.Order("o1").Upstream.Bucket = "changed"
	if c.Order("o1").Upstream.Bucket != "orders" {
		t.Error("Order shares the upstream table")
	}
}

func TestUpstreamRoundTripAndRedaction(t *testing.T) {
	c, err := Parse([]byte(upstreamTOML))
	if err != nil {
		t.Fatal(err)
	}
	shown := c.String()
	if strings.Contains(shown, topSecret) || !strings.Contains(shown, "[order.o1.upstream]") ||
		!strings.Contains(shown, `secret_key       = "`+Mask+`"`) {
		t.Errorf("String:\n%s", shown)
	}
	if red := c.Redacted(); string(red.Orders["o1"].Upstream.SecretKey) != Mask || c.Orders["o1"].Upstream.SecretKey != topSecret {
		t.Error("Redacted did not mask a copy of the upstream secret")
	}
	path := filepath.Join(t.TempDir(), "user.toml")
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if *back.Order("o1").Upstream != *c.Order("o1").Upstream || back.String() != c.String() {
		data, _ := os.ReadFile(path)
		t.Errorf("round trip lost the upstream table:\n%s", data)
	}
}

func TestUpstreamErrors(t *testing.T) {
	base := "[order.o1.upstream]\nendpoint = \"http://h:9000\"\nbucket = \"orders\"\nprefix = \"o1/\"\n"
	tests := []struct {
		name, toml, want string
		line             int
	}{
		{"unknown key", base + "secret = \"" + topSecret + "\"\n", `unknown key "order.o1.upstream.secret"`, 5},
		{"typo", base + "buket = \"x\"\n", `did you mean "order.o1.upstream.bucket"`, 5},
		{"no endpoint", "[order.o1.upstream]\nbucket = \"orders\"\n", "order.o1.upstream.endpoint: must be set", 0},
		{"endpoint scheme", strings.Replace(base, "http://h:9000", "ftp://h", 1), "order.o1.upstream.endpoint", 0},
		{"endpoint path", strings.Replace(base, "http://h:9000", "http://h:9000/orders", 1), "no path allowed", 0},
		{"no bucket", strings.Replace(base, "bucket = \"orders\"\n", "", 1), "order.o1.upstream.bucket: must be set", 0},
		{"prefix slash", strings.Replace(base, "o1/", "o1", 1), "must end in '/'", 0},
		{"prefix dots", strings.Replace(base, "o1/", "a/../", 1), "'..' segments", 0},
		{"prefix leading", strings.Replace(base, "o1/", "/o1/", 1), "must not start with '/'", 0},
		{"half credentials", base + "secret_key = \"" + topSecret + "\"\n", "order.o1.upstream.access_key: must be set with secret_key", 0},
		{"half credentials 2", base + "access_key = \"ak\"\n", "order.o1.upstream.secret_key: must be set with access_key", 0},
		{"negative timeout", base + "response_timeout = \"-1s\"\n", "order.o1.upstream.response_timeout: must not be negative", 0},
		{"transfer check", base + "transfer_check = \"sha1\"\n", `order.o1.upstream.transfer_check: "sha1": want crc32c, md5 or none`, 0},
		{"bad duration", base + "dial_timeout = \"soon\"\n", "dial_timeout", 5},
		{"bad secret", base + "access_key = \"a\"\nsecret_key = " + topSecret + "\n", "invalid value (not shown)", 6},
		{"overlap", base + "[order.o2.upstream]\nendpoint = \"http://h:9000\"\nbucket = \"orders\"\nprefix = \"o1/x/\"\n",
			`order.o2.upstream.prefix: "o1/x/" overlaps the prefix "o1/" of order o1`, 0},
		{"whole bucket overlaps", base + "[order.o2.upstream]\nendpoint = \"http://H:9000/\"\nbucket = \"orders\"\n",
			"overlaps", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.toml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want %q", err, tt.want)
			}
			if strings.Contains(err.Error(), topSecret[:8]) {
				t.Errorf("error shows the secret: %v", err)
			}
			var le *LineError
			if tt.line > 0 && (!errors.As(err, &le) || le.Line != tt.line) {
				t.Errorf("got %v, want line %d", err, tt.line)
			}
		})
	}
	// Different buckets or endpoints may use the same prefix.
	ok := base + "[order.o2.upstream]\nendpoint = \"http://h:9000\"\nbucket = \"other\"\nprefix = \"o1/\"\n" +
		"[order.o3.upstream]\nendpoint = \"http://g:9000\"\nbucket = \"orders\"\nprefix = \"o1/\"\n"
	if _, err := Parse([]byte(ok)); err != nil {
		t.Error(err)
	}
}

func TestUpstreamGetSet(t *testing.T) {
	c, err := Parse([]byte(upstreamTOML))
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.Get("order.o1.upstream.endpoint"); err != nil || v != "http://127.0.0.1:9000" {
		t.Errorf("Get endpoint = %q, %v", v, err)
	}
	if !IsSecret("order.o1.upstream.secret_key") || IsSecret("order.o1.upstream.access_key") {
		t.Error("IsSecret of the upstream keys")
	}
	if err := c.Set("order.o1.upstream.response_timeout", "3m"); err != nil || c.Order("o1").Upstream.ResponseTimeout != 3*time.Minute {
		t.Errorf("Set response_timeout: %v", err)
	}
	if err := c.Set("order.o2.upstream.endpoint", "http://127.0.0.1:9000"); err != nil {
		t.Fatal(err)
	}
	if err := c.Set("order.o2.upstream.prefix", "o1/x/"); err == nil || c.Order("o2").Upstream.Prefix != "o2/" {
		t.Errorf("Set an overlapping prefix: %v, prefix %q", err, c.Order("o2").Upstream.Prefix)
	}
	if _, err := c.Get("order.default.upstream.bucket"); err == nil {
		t.Error("Get of a missing upstream table worked")
	}
	if _, err := c.Get("order.o1.upstream.nope"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("unknown upstream key: %v", err)
	}
	var found bool
	for _, k := range Keys() {
		if k.Key == "order.<id>.upstream.secret_key" && k.Secret && k.Type == "string" {
			found = true
		}
	}
	if !found {
		t.Error("Keys lacks order.<id>.upstream.secret_key")
	}
}

func TestUpstreamFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	both := map[string]string{EnvUpstreamAccessKey: "envak", EnvUpstreamSecretKey: "envsk"}
	tests := []struct {
		name  string
		order string
		env   map[string]string
		taken bool
		err   string
	}{
		{"both", "o2", both, true, ""},
		{"override file", "o1", both, true, ""},
		{"none", "o2", nil, false, ""},
		{"no table", "default", both, false, ""},
		{"half", "o2", map[string]string{EnvUpstreamSecretKey: "x"}, false, EnvUpstreamAccessKey + " is not"},
		{"bad key", "o2", map[string]string{EnvUpstreamAccessKey: "a b", EnvUpstreamSecretKey: "x"}, false, "white space"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(upstreamTOML))
			if err != nil {
				t.Fatal(err)
			}
			taken, err := c.UpstreamFromEnv(tt.order, env(tt.env))
			if taken != tt.taken || (err == nil) != (tt.err == "") || (err != nil && !strings.Contains(err.Error(), tt.err)) {
				t.Fatalf("got %v, %v; want %v, %q", taken, err, tt.taken, tt.err)
			}
			if taken {
				u := c.Order(tt.order).Upstream
				if u.AccessKey != "envak" || u.SecretKey != "envsk" || c.Validate() != nil {
					t.Errorf("upstream = %+v", u)
				}
			}
		})
	}
}
