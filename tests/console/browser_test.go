package console

import (
	"context"
	"net/http"
	"net/http/cookiejar"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/lambda/storagecli/internal/testproc"
)

// chromium returns the path of the chromium binary (failing in CI,
// skipping elsewhere when there is none).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	testproc.MissingTool(t, "chromium (apt-get install chromium)", exec.ErrNotFound)
	return ""
}

// page is a headless chromium tab driven by a test.
type page struct {
	t        *testing.T
	ctx      context.Context
	base     string // the console's URL
	shots    string // screenshot directory
	download string // download directory
}

// css selects the first element matching a CSS selector.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// newBrowser starts headless chromium (a fresh profile) for the console at
// base; insecure accepts any certificate (Caddy's internal CA).
func newBrowser(t *testing.T, base string, insecure bool) *page {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	if insecure {
		opts = append(opts, chromedp.IgnoreCertErrors)
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelC(); cancelA() })
	p := &page{t: t, ctx: ctx, base: base, shots: screenshotDir(t), download: t.TempDir()}
	// The first action starts the browser: its context has no timeout.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.CallBrowser(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
		Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: p.download}); err != nil {
		t.Fatal(err)
	}
	return p
}

// screenshotDir is $ARTIFACTS_DIR/console/<test> or a temporary directory.
func screenshotDir(t *testing.T) string {
	dir := t.TempDir()
	if a := os.Getenv("ARTIFACTS_DIR"); a != "" {
		dir = filepath.Join(a, "console", strings.ReplaceAll(t.Name(), "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// step bounds one browser step.
const step = 2 * time.Minute

// do runs browser actions, failing the test on error.
func (p *page) do(actions ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.shot("failure")
		p.t.Fatal(err)
	}
}

// shot writes a full-page screenshot named name.png (PNG: quality 100).
func (p *page) shot(name string) {
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Logf("screenshot %s: %v", name, err)
		return
	}
	if err := os.WriteFile(filepath.Join(p.shots, name+".png"), buf, 0o644); err != nil {
		p.t.Log(err)
	}
}

// text returns the text of the first element matching sel (waiting for it).
func (p *page) text(sel string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.TextContent(css(sel)))
	if err != nil {
		p.shot("failure")
		p.t.Fatalf("text of %s: %v", sel, err)
	}
	return s
}

// eval evaluates a JavaScript expression (awaiting a promise).
func eval[T any](p *page, js string) T {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, step)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js, chromedp.EvalAwaitPromise))
	if err != nil {
		p.shot("failure")
		p.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// waitJS polls until the JavaScript expression is true.
func (p *page) waitJS(what, js string) {
	p.t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	for {
		ok, err := chromedp.Run(p.ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			p.shot("timeout")
			msg, _ := chromedp.Run(p.ctx, chromedp.Evaluate[string](`(document.getElementById('message') || {}).textContent || ''`))
			p.t.Fatalf("timed out waiting for %s (%s); page message %q", what, js, msg)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// signIn submits the sign-in form.
func (p *page) signIn(ak, sk string) {
	p.t.Helper()
	p.do(chromedp.Navigate(p.base),
		chromedp.WaitVisible(css(`#signin`)),
		chromedp.SetValue(css(`#access_key`), ak),
		chromedp.SetValue(css(`#secret_key`), sk),
		chromedp.Submit(css(`#signin`)))
}

// cookie returns the session cookie as the browser holds it.
func (p *page) cookie() *network.Cookie {
	p.t.Helper()
	res, err := chromedp.Call(p.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{p.base}})
	if err != nil {
		p.t.Fatal(err)
	}
	for _, c := range res.Cookies {
		if c.Name == "storagecli_console" {
			return c
		}
	}
	p.t.Fatal("no session cookie in the browser")
	return nil
}

// clientWithCookie is a plain HTTP client (over tr) sending the session
// cookie c, not following redirects.
func clientWithCookie(t *testing.T, base string, c *network.Cookie, tr http.RoundTripper) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(mustURL(t, base), []*http.Cookie{{Name: c.Name, Value: c.Value, Path: c.Path}})
	return &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}
