package console

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/chromedp"
)

// TestConsoleCrossSiteForms has a signed-in browser open another site's
// page that auto-submits forms to the console: a JSON-looking text/plain
// POST to the API (the classic CSRF) and a sign-in (login CSRF). Both are
// refused: from another site (localhost) the SameSite=Strict cookie is
// not even sent; from the same site on another port (127.0.0.1) the
// cookie is sent but the Origin and the missing CSRF token are not the
// console's.
func TestConsoleCrossSiteForms(t *testing.T) {
	s := serve(t)
	base := s.URL + "/_console/"
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target := r.URL.Query().Get("target")
		var form string
		if strings.HasSuffix(target, "/signin") {
			form = fmt.Sprintf(`<form id="f" method="post" action="%s"><input name="access_key" value="%s"><input name="secret_key" value="%s"></form>`,
				html.EscapeString(target), rwKey, rwSecret)
		} else {
			form = fmt.Sprintf(`<form id="f" method="post" action="%s" enctype="text/plain"><input name='{"bucket":"forged","pad":"' value='"}'></form>`,
				html.EscapeString(target))
		}
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>attacker</title>%s<script>document.getElementById("f").submit()</script>`, form)
	}))
	defer attacker.Close()
	port := attacker.Listener.Addr().String()[strings.LastIndex(attacker.Listener.Addr().String(), ":")+1:]

	p := newBrowser(t, base, false)
	p.signIn(rwKey, rwSecret)
	p.waitJS("the console", `document.body.dataset.ready === 'true'`)
	for _, tt := range []struct {
		name, host, target, want string
	}{
		{"cross-site API POST", "localhost", "api/bucket/create", "NotSignedIn"},
		{"same-site API POST from another origin", "127.0.0.1", "api/bucket/create", "InvalidCSRFToken"},
		{"cross-site sign-in", "localhost", "signin", "did not come from the console"},
		{"same-site sign-in from another origin", "127.0.0.1", "signin", "did not come from the console"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			page := fmt.Sprintf("http://%s:%s/?target=%s", tt.host, port, base+tt.target)
			p.do(chromedp.Navigate(page))
			p.waitJS("the console's answer", fmt.Sprintf(`location.href === %q`, base+tt.target))
			if body := eval[string](p, `document.body.innerText`); !strings.Contains(body, tt.want) {
				t.Errorf("answer %q, want %q", body, tt.want)
			}
		})
	}
	_, err := s3Client(s.URL, http.DefaultClient).HeadBucket(context.Background(), &s3.HeadBucketInput{Bucket: aws.String("forged")})
	if err == nil {
		t.Error("a cross-site form created a bucket")
	}
	// The session the browser had is untouched.
	p.do(chromedp.Navigate(base))
	p.waitJS("the console", `document.body.dataset.ready === 'true'`)
}
