// Package console drives the order console (gateway/console) with Debian's
// headless chromium through github.com/chromedp/chromedp: sign-in, the
// order at a glance, buckets, uploads (a 20 MB multipart file and a folder
// of 50 files), browsing, downloads, share links, folder deletion,
// sign-out, a read-only key, CSRF and cookie flags; in-process over HTTP
// and through the built Caddy over HTTPS (`tls internal`).
//
// Screenshots of the main pages go to $ARTIFACTS_DIR/console when it is
// set, else to a temporary directory. Without chromium the tests fail when
// CI is set and are skipped otherwise.
//
//	go test ./tests/console/
package console

import (
	"testing"

	"github.com/lambda/storagecli/internal/testproc"
)

func TestMain(m *testing.M) {
	testproc.Main(m, "console", m.Run)
}
