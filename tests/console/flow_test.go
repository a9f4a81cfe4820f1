package console

import (
	"bytes"
	"crypto/rand"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// site is a served console as the flows see it.
type site struct {
	base   string       // the console's URL
	client *http.Client // a plain client for the origin (share links)
	tls    bool
	// usage returns the order's bytes and objects as the gateway counts
	// them (nil: not known to the test).
	usage func() (int64, int64)
}

// writeRandom writes n random bytes to path and returns them.
func writeRandom(t *testing.T, path string, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	_, _ = rand.Read(b)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

const fmtNum = `(n => Number(n).toLocaleString('en-US'))`

// readWriteFlow is the whole life of a read-write session.
func readWriteFlow(t *testing.T, p *page, s site) {
	// A wrong secret is refused with a message.
	p.signIn(rwKey, "not-the-secret")
	if msg := p.text("#signin-error"); !strings.Contains(msg, "wrong") {
		t.Fatalf("sign-in error = %q", msg)
	}
	p.shot("01-signin-refused")
	p.signIn(rwKey, rwSecret)
	p.waitJS("the console", `document.body.dataset.ready === 'true'`)
	p.shot("02-order")

	// The order at a glance.
	if id := p.text("#order-id"); id != "console-test" {
		t.Errorf("order id = %q", id)
	}
	if st := p.text("#order-state"); st != "active" {
		t.Errorf("state = %q", st)
	}
	if used := p.text("#order-used"); !strings.Contains(used, "0 of 1,000,000,000 bytes") || !strings.Contains(used, "(0.0%)") {
		t.Errorf("used = %q", used)
	}
	if exp := p.text("#order-expires"); !strings.Contains(exp, "(in 2 d 23 h)") {
		t.Errorf("expires = %q", exp)
	}
	if snip := p.text("#snip-aws"); !strings.Contains(snip, "--endpoint-url "+strings.TrimSuffix(s.base, "/_console/")) || strings.Contains(snip, rwSecret) {
		t.Errorf("aws snippet = %q", snip)
	}

	// The session cookie's flags.
	c := p.cookie()
	if !c.HTTPOnly || c.SameSite != "Strict" || c.Path != "/_console/" || c.Secure != s.tls {
		t.Errorf("cookie: HttpOnly %v SameSite %v Path %q Secure %v (TLS %v)", c.HTTPOnly, c.SameSite, c.Path, c.Secure, s.tls)
	}

	// A bucket, made with the keyboard only (Enter submits the form).
	p.do(chromedp.SendKeys(css("#new-bucket"), "photos"+kb.Enter),
		chromedp.WaitVisible(css(`li[data-bucket="photos"]`)),
		chromedp.Click(css(`li[data-bucket="photos"] a.bucket`)),
		chromedp.WaitVisible(css("#browser")))

	// A 20 MB file (multipart) and a folder of 50 files.
	dir := t.TempDir()
	big := writeRandom(t, filepath.Join(dir, "big.bin"), 20_000_000)
	p.do(chromedp.SetUploadFiles(css("#file-input"), []string{filepath.Join(dir, "big.bin")}))
	p.waitJS("the 20 MB upload", `document.getElementById('total-text').textContent.startsWith('100% · 1 of 1 files ·')`)
	p.waitJS("big.bin listed", `!!document.querySelector('tr[data-key="big.bin"]')`)
	p.shot("03-uploaded-file")
	batch := filepath.Join(dir, "batch")
	if err := os.Mkdir(batch, 0o755); err != nil {
		t.Fatal(err)
	}
	var small int64
	for i := range 50 {
		small += int64(len(writeRandom(t, filepath.Join(batch, fmt.Sprintf("file-%02d.txt", i)), 1000+i)))
	}
	p.do(chromedp.SetUploadFiles(css("#folder-input"), []string{batch}))
	p.waitJS("the folder upload", `document.getElementById('total-text').textContent.startsWith('100% · 50 of 50 files ·')`)
	p.waitJS("batch/ listed", `!!document.querySelector('tr[data-prefix="batch/"]')`)
	p.shot("04-uploaded-folder")

	// The order bar has the gateway's numbers.
	p.waitJS("51 objects", `document.getElementById('order-objects').textContent === '51'`)
	usedBytes := eval[int64](p, `Number(document.getElementById('order-used').dataset.bytes)`)
	if usedBytes < 20_000_000+small {
		t.Errorf("console shows %d bytes used, uploaded %d", usedBytes, 20_000_000+small)
	}
	if s.usage != nil {
		b, n := s.usage()
		if usedBytes != b || n != 51 {
			t.Errorf("console shows %d bytes, gateway counts %d bytes and %d objects", usedBytes, b, n)
		}
		text := eval[string](p, fmtNum+`(`+fmt.Sprint(b)+`) + ' of 1,000,000,000 bytes'`)
		if used := p.text("#order-used"); !strings.Contains(used, text) {
			t.Errorf("used = %q, want %q", used, text)
		}
	}

	// An empty folder.
	p.do(chromedp.Click(css("#new-folder")), chromedp.WaitVisible(css("#folder-name")),
		chromedp.SetValue(css("#folder-name"), "empty"), chromedp.Click(css("#dialog-ok")))
	p.waitJS("the new folder", `location.hash.includes('p=empty%2F') && document.querySelector('#objects tbody').textContent === 'This folder is empty.'`)
	p.do(chromedp.Click(css(`#crumbs a`)))
	p.waitJS("the folder listed", `!!document.querySelector('tr[data-prefix="empty/"]')`)

	// Browse into the folder.
	p.do(chromedp.Click(css(`tr[data-prefix="batch/"] a.open`)))
	p.waitJS("50 objects in batch/", `document.querySelectorAll('#objects tr[data-key^="batch/file-"]').length === 50`)
	p.shot("05-folder")
	// Search by prefix within the folder.
	p.do(chromedp.SetValue(css("#search"), "file-1"), chromedp.Click(css("#search-form button")))
	p.waitJS("10 matches", `document.querySelectorAll('#objects tr[data-key^="batch/file-"]').length === 10`)
	eval[bool](p, `document.getElementById('search').value = ''; document.querySelector('#search-form button').click(); true`)
	p.waitJS("50 objects again", `document.querySelectorAll('#objects tr[data-key^="batch/file-"]').length === 50`)
	// Delete two selected objects.
	p.do(chromedp.Click(css(`tr[data-key="batch/file-00.txt"] input.select`)),
		chromedp.Click(css(`tr[data-key="batch/file-01.txt"] input.select`)),
		chromedp.Click(css("#delete-selected")),
		chromedp.WaitVisible(css("#dialog-body p")))
	if msg := p.text("#dialog-body"); msg != "This deletes 2 objects." {
		t.Errorf("confirmation = %q", msg)
	}
	p.do(chromedp.Click(css("#dialog-ok")))
	p.waitJS("48 objects left", `document.querySelectorAll('#objects tr[data-key^="batch/file-"]').length === 48`)
	// The same page on a phone: nothing wider than the screen.
	p.do(chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile))
	if w := eval[int](p, `document.documentElement.scrollWidth`); w > 390 {
		t.Errorf("on a 390 px wide phone the page is %d px wide", w)
	}
	p.shot("05-folder-phone")
	p.do(chromedp.EmulateViewport(1280, 900))
	p.do(chromedp.Click(css(`#crumbs a`)))
	p.waitJS("the bucket's root", `!!document.querySelector('tr[data-key="big.bin"]')`)

	// Download the file and compare its bytes.
	p.do(chromedp.Click(css(`tr[data-key="big.bin"] button.download`)))
	got := waitFile(t, filepath.Join(p.download, "big.bin"), len(big))
	if !bytes.Equal(got, big) {
		t.Fatal("the downloaded file differs from the uploaded one")
	}

	// Its details.
	p.do(chromedp.Click(css(`tr[data-key="big.bin"] button.details`)), chromedp.WaitVisible(css("#dialog-body dl")))
	if d := p.text("#dialog-body"); !strings.Contains(d, "20,000,000 bytes") || !strings.Contains(d, "ETag") {
		t.Errorf("details: %q", d)
	}
	p.shot("06-details")
	p.do(chromedp.Click(css("#dialog-ok")))

	// A share link, fetched with a plain HTTP client.
	p.do(chromedp.Click(css(`tr[data-key="big.bin"] button.share`)),
		chromedp.WaitVisible(css("#share-make")),
		chromedp.SetValue(css("#share-life"), "3600"),
		chromedp.Click(css("#share-make")))
	p.waitJS("the share link", `document.getElementById('share-url').value !== ''`)
	p.shot("07-share")
	link := eval[string](p, `document.getElementById('share-url').value`)
	if !strings.Contains(link, "X-Amz-Expires=3600") {
		t.Errorf("share link %q does not live an hour", link)
	}
	status, body := get(t, s.client, link)
	if status != http.StatusOK || !bytes.Equal(body, big) {
		t.Fatalf("share link: %d, %d bytes", status, len(body))
	}
	// Escape closes the dialog.
	p.do(chromedp.KeyEvent(kb.Escape))
	p.waitJS("the dialog closed", `!document.getElementById('dialog').open`)

	// Delete the folder, after a confirmation that counts its objects.
	p.do(chromedp.Click(css(`tr[data-prefix="batch/"] button.delete-folder`)),
		chromedp.WaitVisible(css("#confirm-count")))
	if msg := p.text("#confirm-count"); msg != "This deletes 48 objects." {
		t.Errorf("confirmation = %q", msg)
	}
	p.shot("08-confirm-delete")
	p.do(chromedp.Click(css("#dialog-ok")))
	p.waitJS("batch/ gone", `!document.querySelector('tr[data-prefix="batch/"]')`)
	p.waitJS("2 objects left (big.bin, empty/)", `document.getElementById('order-objects').textContent === '2'`)

	// A forged write without the CSRF token is refused.
	old := p.cookie()
	hc := clientWithCookie(t, s.base, old, s.client.Transport)
	resp, err := hc.Post(s.base+"api/bucket/create", "application/json", strings.NewReader(`{"bucket":"forged"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("write without CSRF token: %d, want 403", resp.StatusCode)
	}

	// Sign out: the old cookie no longer works.
	p.do(chromedp.Click(css("#signout")))
	p.waitJS("the sign-in page", `location.pathname.endsWith('/signin') && !!document.getElementById('signin')`)
	if status, _ := get(t, hc, s.base+"api/session"); status != http.StatusUnauthorized {
		t.Errorf("old cookie after sign-out: %d, want 401", status)
	}
	if status, _ := get(t, hc, s.base); status != http.StatusSeeOther {
		t.Errorf("page with the old cookie after sign-out: %d, want 303 to sign-in", status)
	}
}

// readOnlyFlow signs in with the read-only key: no write controls are
// shown and a forged write (with a valid CSRF token) is refused.
func readOnlyFlow(t *testing.T, p *page, s site) {
	p.signIn(roKey, roSecret)
	p.waitJS("the console", `document.body.dataset.ready === 'true'`)
	p.waitJS("photos listed", `!!document.querySelector('li[data-bucket="ro-bucket"]')`)
	p.do(chromedp.Click(css(`li[data-bucket="ro-bucket"] a.bucket`)))
	p.waitJS("the object", `!!document.querySelector('tr[data-key="readme.txt"]')`)
	p.shot("01-read-only")
	writes := eval[int](p, `document.querySelectorAll('#create-bucket, #new-bucket, #file-input, #folder-input, #new-folder, #delete-selected, #dropzone, button.delete, button.delete-folder, button.delete-bucket, input.select').length`)
	if writes != 0 {
		t.Errorf("%d write controls shown to a read-only key", writes)
	}
	if who := p.text("#who"); !strings.Contains(who, "(read-only)") {
		t.Errorf("who = %q", who)
	}
	// Reads work: the download of readme.txt.
	p.do(chromedp.Click(css(`tr[data-key="readme.txt"] button.download`)))
	if got := waitFile(t, filepath.Join(p.download, "readme.txt"), len("read me")); string(got) != "read me" {
		t.Errorf("download = %q", got)
	}
	// Forged writes, from the page itself with its CSRF token, are refused
	// by the gateway: creating a bucket, deleting, and a presigned PUT.
	res := eval[[]string](p, `(async () => {
		const s = await (await fetch('api/session')).json();
		const post = async (path, body) => { const r = await fetch('api/' + path, {method: 'POST',
			headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf}, body: JSON.stringify(body)});
			return r.status + ' ' + (await r.json()).code; };
		const out = [await post('bucket/create', {bucket: 'forged'}),
			await post('delete', {bucket: 'ro-bucket', keys: ['readme.txt']})];
		const up = await (await fetch('api/upload', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': s.csrf},
			body: JSON.stringify({bucket: 'ro-bucket', key: 'forged.txt', size: 6})})).json();
		const put = await fetch(up.url, {method: 'PUT', body: 'forged'});
		out.push(put.status + ' ' + new DOMParser().parseFromString(await put.text(), 'application/xml').querySelector('Code').textContent);
		return out;
	})()`)
	want := []string{"403 AccessDenied", "403 AccessDenied", "403 AccessDenied"}
	if strings.Join(res, ",") != strings.Join(want, ",") {
		t.Errorf("forged writes: %v, want %v", res, want)
	}
}

// waitFile waits for a download of n bytes at path and returns it.
func waitFile(t *testing.T, path string, n int) []byte {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if b, err := os.ReadFile(path); err == nil && len(b) == n {
			return b
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(filepath.Dir(path))
			t.Fatalf("no download of %d bytes at %s (directory: %v)", n, path, entries)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
