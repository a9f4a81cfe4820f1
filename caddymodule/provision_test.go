package caddymodule

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/internal/orderstore"
)

// resolveWith resolves h's settings with HOME set to home.
func resolveWith(t *testing.T, home string, h Handler) (*settings, error) {
	t.Helper()
	t.Setenv("HOME", home)
	return h.resolve(caddy.NewReplacer())
}

// TestResolve checks how the handler's settings come from user.toml and
// its own fields.
func TestResolve(t *testing.T) {
	home := t.TempDir()
	sh := filepath.Join(home, config.HomeDirName)

	// No file at the default path: the defaults, as `storagecli gateway run`.
	s, err := resolveWith(t, home, Handler{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.missing || s.order != config.DefaultExtraOrderID || s.cfg.Gateway.AccessKey != config.DefaultAccessKey ||
		s.dataDir != filepath.Join(sh, "gateway", "default") || s.path != filepath.Join(sh, "config", "user.toml") {
		t.Errorf("defaults: %+v %+v", s, s.cfg)
	}

	// The default file.
	writeUserTOML(t, filepath.Join(sh, "config"), `[gateway]
access_key = "file-ak"
secret_key = "file-sk"
region = "eu-west-1"
domain = "s3.example.com"
no_sync = true

[broker]
extra_order_id = "file-order"
db_path = "stores"
`)
	s, err = resolveWith(t, home, Handler{})
	if err != nil {
		t.Fatal(err)
	}
	g := s.cfg.Gateway
	if s.missing || s.order != "file-order" || g.AccessKey != "file-ak" || string(g.SecretKey) != "file-sk" ||
		g.Region != "eu-west-1" || g.Domain != "s3.example.com" || !g.NoSync ||
		s.dataDir != filepath.Join(sh, "stores", "file-order") {
		t.Errorf("from the file: %+v %+v", s, g)
	}

	// The handler's fields override the file; {env.*} is replaced.
	t.Setenv("S3GW_TEST_SK", "env-secret")
	t.Setenv("S3GW_TEST_ORDER", "env-order")
	wd, _ := os.Getwd()
	s, err = resolveWith(t, home, Handler{Order: "{env.S3GW_TEST_ORDER}", AccessKey: "h-ak", SecretKey: "{env.S3GW_TEST_SK}",
		Region: "us-west-2", Domain: "other.example.com", Data: "rel-data", NoSync: boolPtr(false)})
	if err != nil {
		t.Fatal(err)
	}
	g = s.cfg.Gateway
	if s.order != "env-order" || g.AccessKey != "h-ak" || string(g.SecretKey) != "env-secret" || g.Region != "us-west-2" ||
		g.Domain != "other.example.com" || g.NoSync || s.dataDir != filepath.Join(wd, "rel-data", "env-order") {
		t.Errorf("overrides: %+v %+v", s, g)
	}

	// Limits: the file's, overridden by the handler's.
	s, err = resolveWith(t, home, Handler{Limits: map[string]string{"read_idle_timeout": "5s", "max_uploads_per_key": "3"}})
	if err != nil {
		t.Fatal(err)
	}
	if l := orderstore.Limits(s.cfg); l.ReadIdle != 5*time.Second || l.UploadsPerKey != 3 || l.Uploads != 1024 || l.WriteIdle != time.Minute {
		t.Errorf("limits: %+v", l)
	}

	// "~" in data and config, as storagecli resolves it.
	s, err = resolveWith(t, home, Handler{Data: "~/.lambda_storagecli/elsewhere", Config: "~/.lambda_storagecli/config/user.toml"})
	if err != nil {
		t.Fatal(err)
	}
	if s.dataDir != filepath.Join(sh, "elsewhere", "file-order") || s.path != filepath.Join(sh, "config", "user.toml") {
		t.Errorf("~ paths: data %s, config %s", s.dataDir, s.path)
	}

	// An explicit file.
	other := writeUserTOML(t, filepath.Join(home, "etc"), "[broker]\nextra_order_id = \"explicit\"\ndb_path = \"/srv/s3\"\n")
	s, err = resolveWith(t, home, Handler{Config: other})
	if err != nil {
		t.Fatal(err)
	}
	if s.order != "explicit" || s.dataDir != "/srv/s3/explicit" || s.cfg.Gateway.AccessKey != config.DefaultAccessKey {
		t.Errorf("explicit file: %+v", s)
	}
}

// TestResolveErrors checks the errors of settings that cannot work.
func TestResolveErrors(t *testing.T) {
	home := t.TempDir()
	bad := writeUserTOML(t, filepath.Join(home, "bad"), "[gateway]\nacces_key = \"x\"\n")
	tests := []struct {
		name string
		h    Handler
		want string
	}{
		{"missing explicit file", Handler{Config: filepath.Join(home, "nope.toml")}, "no such file or directory"},
		{"unknown key in the file", Handler{Config: bad}, `line 2: unknown key "gateway.acces_key"`},
		{"unset variable", Handler{AccessKey: "ak", SecretKey: "{env.S3GW_TEST_UNSET}"}, "s3gateway: secret_key:"},
		{"bad order from a variable", Handler{Order: "{env.S3GW_TEST_BADORDER}"}, `s3gateway: order: order id "a/b"`},
		{"keys not together", Handler{AccessKey: "ak"}, "access_key and secret_key must be given together"},
		{"bad region", Handler{Region: "Nowhere"}, `s3gateway: region: "Nowhere" is not a region name`},
		{"unknown placeholder", Handler{Domain: "{nope.x}"}, "s3gateway: domain:"},
		{"unknown limit", Handler{Limits: map[string]string{"max_speed": "1"}}, `unknown limit "max_speed"`},
		{"bad limit", Handler{Limits: map[string]string{"max_uploads": "lots"}}, "s3gateway: max_uploads:"},
	}
	t.Setenv("S3GW_TEST_BADORDER", "a/b")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := resolveWith(t, home, tt.h)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// loadHandler provisions a handler from JSON in ctx, as Caddy does.
func loadHandler(ctx caddy.Context, h Handler) (*Handler, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	m, err := ctx.LoadModuleByID("http.handlers.s3gateway", raw)
	if err != nil {
		return nil, err
	}
	return m.(*Handler), nil
}

func newCaddyContext(t *testing.T) (caddy.Context, context.CancelFunc) {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	return ctx, cancel
}

// TestStoreSharedAcrossConfigs checks the store's life across loads: a new
// config shares the running one's store (no lock error), unloading a config
// keeps it for the others, the last unload closes it once its requests
// have finished, and a config loaded meanwhile takes it back.
func TestStoreSharedAcrossConfigs(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	data := filepath.Join(home, "data")
	dir := filepath.Join(data, "shared")
	h := Handler{Order: "shared", Data: data, AccessKey: "ak", SecretKey: "sk"}

	ctx1, cancel1 := newCaddyContext(t)
	a, err := loadHandler(ctx1, h)
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := newCaddyContext(t)
	b, err := loadHandler(ctx2, h)
	if err != nil {
		t.Fatalf("a second config using the same store: %v", err)
	}
	if a.shared != b.shared || a.shared.st == nil {
		t.Fatal("the two configs do not share the store")
	}
	s := a.shared

	// A handler failing in a third config must not release the others'.
	ctx3, cancel3 := newCaddyContext(t)
	if _, err := loadHandler(ctx3, Handler{Order: "shared", Data: data, Config: filepath.Join(home, "missing.toml")}); err == nil {
		t.Fatal("a missing config file was accepted")
	}
	cancel3()

	cancel1() // the old config goes
	if !s.enter() {
		t.Fatal("the store closed while a config uses it")
	}
	cancel2() // the last config goes while a request is running
	if inflight(dir) != 1 || s.closed {
		t.Fatalf("the store closed under a running request (in flight %d, closed %v)", inflight(dir), s.closed)
	}
	if _, err := s.st.ListBuckets(context.Background()); err != nil {
		t.Fatalf("the running request cannot use the store: %v", err)
	}

	// A config loaded now takes the draining store back.
	ctx4, cancel4 := newCaddyContext(t)
	c, err := loadHandler(ctx4, h)
	if err != nil {
		t.Fatalf("loading a config while the store drains: %v", err)
	}
	if c.shared != s {
		t.Fatal("the draining store was not taken back")
	}
	s.leave()
	if s.closed {
		t.Fatal("the store closed although a config uses it again")
	}

	cancel4()
	if !s.closed || inflight(dir) != -1 {
		t.Fatal("the store did not close with its last config and request")
	}
	if s.enter() {
		t.Error("a closed store accepted a request")
	}
	// A request routed by the unloaded config: a retryable S3 error.
	w := httptest.NewRecorder()
	if err := c.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/bkt/key", nil), nil); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "<Code>ServiceUnavailable</Code>") {
		t.Errorf("request after the store closed: %d %s", w.Code, w.Body.String())
	}
	// A request routed by an unloaded config whose store another config
	// still uses is served.
	w = httptest.NewRecorder()
	if err := a.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil), nil); err != nil || w.Code != http.StatusServiceUnavailable {
		t.Errorf("unloaded handler, closed store: %v %d", err, w.Code)
	}

	// Unloading with a request running closes after the request.
	ctx5, cancel5 := newCaddyContext(t)
	d, err := loadHandler(ctx5, h)
	if err != nil {
		t.Fatal(err)
	}
	s = d.shared
	s.enter()
	ctx6, _ := newCaddyContext(t)
	e, err := loadHandler(ctx6, h)
	if err != nil {
		t.Fatal(err)
	}
	if e.shared != s {
		t.Fatal("not shared")
	}
	cancel5() // d is unloaded, e (same store) is not
	w = httptest.NewRecorder()
	if err := d.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil), nil); err != nil || w.Code != http.StatusForbidden {
		t.Errorf("a request routed by an unloaded config whose store is still used: %v %d %s", err, w.Code, w.Body.String())
	}
	if err := e.Cleanup(); err != nil { // unload e: only the request holds the store now
		t.Fatal(err)
	}
	if s.closed {
		t.Fatal("closed under a running request")
	}
	s.leave()
	if !s.closed {
		t.Fatal("not closed after its last request")
	}
}

// TestStoreInUseElsewhere checks the error when another process (here:
// another open of the same directory) holds the store.
func TestStoreInUseElsewhere(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	data := filepath.Join(home, "data")
	busy := filepath.Join(data, "busy")
	st, err := openStore(orderstore.Location{Kind: orderstore.KindEmbedded, Dir: busy, ID: "embedded:" + busy}, "busy", true)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx, _ := newCaddyContext(t)
	_, err = loadHandler(ctx, Handler{Order: "busy", Data: data})
	if err == nil || !strings.Contains(err.Error(), "is in use by another process") {
		t.Fatalf("error = %v", err)
	}
}

// TestConsoleSetting checks that the console is on by default at the
// file's path, and that the console subdirective turns it off or moves it.
func TestConsoleSetting(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	cfgOff := filepath.Join(home, "off.toml")
	if err := os.WriteFile(cfgOff, []byte("[gateway]\nconsole = false\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, tt := range []struct {
		console, config string
		wantPath        string // "": no console
		wantErr         string
	}{
		{wantPath: "/_console/"},
		{console: "off"},
		{console: "/_admin/console/", wantPath: "/_admin/console/"},
		{config: cfgOff},
		{config: cfgOff, console: "on", wantPath: "/_console/"},
		{console: "/admin/", wantErr: `would hide the bucket "admin"`},
	} {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			ctx, _ := newCaddyContext(t)
			h, err := loadHandler(ctx, Handler{Order: fmt.Sprint("console-", i), Data: filepath.Join(home, "data"),
				Config: tt.config, Console: tt.console})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/_console/", nil)
			if tt.wantPath != "" {
				r = httptest.NewRequest(http.MethodGet, tt.wantPath, nil)
			}
			if got := h.con != nil && h.con.Owns(r); got != (tt.wantPath != "") {
				t.Errorf("console at %q: %v", tt.wantPath, got)
			}
		})
	}
}
