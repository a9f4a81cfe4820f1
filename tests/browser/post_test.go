// Package browser drives a real browser (Debian's headless chromium, through
// chromedp) against the gateway: what web applications make browsers do.
package browser

import (
	"context"
	"crypto/md5"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/chromedp"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/store/embedded"
	"github.com/lambda/storagecli/internal/testproc"
)

const (
	testAK, testSK = "browserkey", "browsersecret"
	region         = "us-east-1"
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

// newBrowser starts headless chromium with a fresh profile.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelB := chromedp.NewContext(actx, chromedp.WithErrorf(t.Logf))
	t.Cleanup(func() { cancelB(); cancelA() })
	// The first action starts the browser, which lives as long as its
	// context: no timeout there; the test's actions get one.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	tctx, cancelT := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(cancelT)
	return tctx
}

// newGateway serves an in-process gateway on the embedded store with one
// bucket, and returns its URL and an SDK client for it.
func newGateway(t *testing.T, bucket string) (string, *s3.Client) {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h, err := gateway.New(gateway.Options{Store: st, Credentials: map[string]string{testAK: testSK}, Region: region})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cli := s3.New(s3.Options{Region: region, BaseEndpoint: aws.String(srv.URL), UsePathStyle: true,
		Credentials: credentials.NewStaticCredentialsProvider(testAK, testSK, "")})
	if _, err := cli.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return srv.URL, cli
}

// uploadPage is the web application's page: a form posting straight to
// the gateway (another origin) with the fields its server presigned.
var uploadPage = template.Must(template.New("upload").Parse(`<!doctype html>
<html><body>
<form id="upload" action="{{.Action}}" method="post" enctype="multipart/form-data">
{{range $k, $v := .Fields}}<input type="hidden" name="{{$k}}" value="{{$v}}">
{{end}}<input type="file" id="file" name="file">
<button id="send" type="submit">Upload</button>
</form>
</body></html>`))

// TestBrowserPostUpload: a page served from another origin uploads a file
// with a presigned POST form (policy signed by the AWS SDK, as a web
// application's server signs it); the browser follows
// success_action_redirect back to the application, and the object reads
// back with the form's key, Content-Type and metadata.
func TestBrowserPostUpload(t *testing.T) {
	ctx := newBrowser(t)
	gwURL, cli := newGateway(t, "media")

	var mu sync.Mutex
	var done url.Values
	app := http.NewServeMux()
	appSrv := httptest.NewServer(app)
	defer appSrv.Close()
	// The application's origin differs from the gateway's by host, not
	// only by port.
	appURL := strings.Replace(appSrv.URL, "127.0.0.1", "localhost", 1)
	app.HandleFunc("/done", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		done = r.URL.Query()
		mu.Unlock()
		fmt.Fprint(w, `<!doctype html><p id="result">uploaded</p>`)
	})
	app.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		pp, err := s3.NewPresignClient(cli).PresignPostObject(r.Context(),
			&s3.PutObjectInput{Bucket: aws.String("media"), Key: aws.String("uploads/${filename}")},
			func(o *s3.PresignPostOptions) {
				o.Expires = 10 * time.Minute
				o.Conditions = []any{
					[]any{"starts-with", "$key", "uploads/"},
					[]any{"starts-with", "$Content-Type", "text/"},
					map[string]string{"x-amz-meta-source": "browser"},
					map[string]string{"success_action_redirect": appURL + "/done"},
					[]any{"content-length-range", 1, 1 << 20},
				}
			})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		fields := pp.Values
		fields["Content-Type"] = "text/plain"
		fields["x-amz-meta-source"] = "browser"
		fields["success_action_redirect"] = appURL + "/done"
		_ = uploadPage.Execute(w, struct {
			Action string
			Fields map[string]string
		}{gwURL + "/media", fields})
	})

	content := strings.Repeat("uploaded from a browser form\n", 1000)
	file := filepath.Join(t.TempDir(), "notes.txt")
	if err := os.WriteFile(file, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(appURL+"/"),
		chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Click(chromedp.CSS("#send")),
	)
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	// The gateway's answer redirects to the application; an error stays
	// on the gateway's page (its XML shown as text).
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	err = chromedp.Do(wctx, chromedp.WaitVisible(chromedp.CSS("#result")))
	cancel()
	location, _ := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
		t.Fatalf("no redirect to the application: %v; the browser is at %s showing %q", err, location, page)
	}
	result, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#result")))
	if err != nil || !strings.HasPrefix(location, appURL+"/done?") || result != "uploaded" {
		t.Fatalf("the browser ended at %s (%q, %v)", location, result, err)
	}
	mu.Lock()
	q := done
	mu.Unlock()
	if q.Get("bucket") != "media" || q.Get("key") != "uploads/notes.txt" || q.Get("etag") == "" {
		t.Fatalf("redirect query %v", q)
	}

	out, err := cli.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("media"), Key: aws.String("uploads/notes.txt")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	got, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != content {
		t.Errorf("stored %d bytes, want %d", len(got), len(content))
	}
	if aws.ToString(out.ContentType) != "text/plain" || out.Metadata["source"] != "browser" || aws.ToString(out.ETag) != q.Get("etag") {
		t.Errorf("object: Content-Type %q, metadata %v, ETag %q (redirect said %q)", aws.ToString(out.ContentType), out.Metadata, aws.ToString(out.ETag), q.Get("etag"))
	}
}

// fetchPage is a page uploading with fetch and FormData (no navigation):
// upload() resolves to what the script could read of the answer.
var fetchPage = template.Must(template.New("fetch").Parse(`<!doctype html>
<html><body><script>
const action = {{.Action}};
const fields = {{.Fields}};
async function upload() {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, v);
  form.append("file", new Blob(["posted by fetch"], {type: "text/plain"}), "fetched.txt");
  try {
    const resp = await fetch(action, {method: "POST", body: form});
    const doc = new DOMParser().parseFromString(await resp.text(), "application/xml");
    return resp.status + " " + doc.querySelector("Key").textContent + " " + resp.headers.get("ETag");
  } catch (e) {
    return "refused: " + e.name;
  }
}
</script></body></html>`))

// TestBrowserPostFetch: a script on a page of another origin posts the
// form with fetch and reads the 201 PostResponse and the exposed ETag when
// the bucket's CORS configuration allows its origin; from an origin
// without a rule the browser keeps the answer from the script.
func TestBrowserPostFetch(t *testing.T) {
	ctx := newBrowser(t)
	gwURL, cli := newGateway(t, "media")
	serve := func(key string) string {
		mux := http.NewServeMux()
		srv := httptest.NewServer(mux)
		t.Cleanup(srv.Close)
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			pp, err := s3.NewPresignClient(cli).PresignPostObject(r.Context(), &s3.PutObjectInput{Bucket: aws.String("media"), Key: aws.String(key)},
				func(o *s3.PresignPostOptions) {
					o.Conditions = []any{map[string]string{"success_action_status": "201"}}
				})
			if err != nil {
				http.Error(w, err.Error(), 500)
				return
			}
			pp.Values["success_action_status"] = "201"
			_ = fetchPage.Execute(w, struct {
				Action string
				Fields map[string]string
			}{gwURL + "/media", pp.Values})
		})
		return srv.URL
	}
	allowed := strings.Replace(serve("allowed.txt"), "127.0.0.1", "localhost", 1)
	other := serve("other.txt")
	_, err := cli.PutBucketCors(context.Background(), &s3.PutBucketCorsInput{Bucket: aws.String("media"), CORSConfiguration: &types.CORSConfiguration{
		CORSRules: []types.CORSRule{{AllowedOrigins: []string{allowed}, AllowedMethods: []string{"POST"}, AllowedHeaders: []string{"*"}, ExposeHeaders: []string{"ETag"}}}}})
	if err != nil {
		t.Fatal(err)
	}
	upload := func(page string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
			t.Fatal(err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`upload()`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	want := `201 allowed.txt "` + fmt.Sprintf("%x", md5.Sum([]byte("posted by fetch"))) + `"`
	if got := upload(allowed + "/"); got != want {
		t.Errorf("allowed origin: %q, want %q", got, want)
	}
	if got := upload(other + "/"); got != "refused: TypeError" {
		t.Errorf("origin without a rule: %q", got)
	}
	out, err := cli.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String("media"), Key: aws.String("allowed.txt")})
	if err != nil {
		t.Fatal(err)
	}
	defer out.Body.Close()
	if b, _ := io.ReadAll(out.Body); string(b) != "posted by fetch" {
		t.Errorf("stored %q", b)
	}
}
