package console

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/internal/testproc"
)

// TestConsoleCaddyTLS runs both flows through the built Caddy over HTTPS
// (`tls internal`): the console on by default, its cookie Secure.
func TestConsoleCaddyTLS(t *testing.T) {
	chromium(t)
	bin := testproc.Binary(t, "caddy")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "user.toml")
	toml := fmt.Sprintf(`[gateway]
access_key = %q
secret_key = %q

[broker]
extra_order_id = "console-test"
db_path = %q

[order.console-test]
capacity = %d
expires = %s

[[order.console-test.keys]]
access_key = %q
secret_key = %q
read_only = true
`, rwKey, rwSecret, filepath.Join(dir, "data"), capacity, time.Now().Add(72*time.Hour).UTC().Format(time.RFC3339), roKey, roSecret)
	if err := os.WriteFile(cfg, []byte(toml), 0o600); err != nil {
		t.Fatal(err)
	}
	c := testproc.StartCaddy(t, bin, dir, "", fmt.Sprintf("s3gateway {\n\t\tconfig %s\n\t}", cfg), nil)
	base := c.Endpoint + "/_console/"
	t.Run("read-write", func(t *testing.T) {
		readWriteFlow(t, newBrowser(t, base, true), site{base: base, client: c.Client, tls: true})
	})
	t.Run("read-only", func(t *testing.T) {
		seedReadOnly(t, s3Client(c.Endpoint, c.Client))
		readOnlyFlow(t, newBrowser(t, base, true), site{base: base, client: c.Client, tls: true})
	})
	if log := testproc.FileTail(filepath.Join(dir, "caddy.log"), 1<<30); strings.Contains(log, rwSecret) || strings.Contains(log, roSecret) {
		t.Error("a secret is in Caddy's log")
	}
}
