package console

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestConsoleUploadRefusalAndCancel checks that an upload the order has no
// room for fails with the reason in words, and that Cancel stops a
// (throttled) multipart upload and aborts it on the server.
func TestConsoleUploadRefusalAndCancel(t *testing.T) {
	o := testOrder()
	o.Capacity = 30_000_000
	s := serveOrder(t, o)
	ctx := context.Background()
	c := s3Client(s.URL, http.DefaultClient)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("uploads")}); err != nil {
		t.Fatal(err)
	}
	p := newBrowser(t, s.URL+"/_console/", false)
	p.signIn(rwKey, rwSecret)
	p.waitJS("the console", `document.body.dataset.ready === 'true'`)
	p.do(chromedp.Click(css(`li[data-bucket="uploads"] a.bucket`)), chromedp.WaitVisible(css("#browser")))

	dir := t.TempDir()
	writeRandom(t, filepath.Join(dir, "too-big.bin"), 40_000_000)
	p.do(chromedp.SetUploadFiles(css("#file-input"), []string{filepath.Join(dir, "too-big.bin")}))
	p.waitJS("the refusal", `(document.querySelector('#upload-list li[data-key="too-big.bin"]') || {}).textContent?.includes('failed: 40000000 bytes do not fit')`)
	if msg := p.text("#message"); !strings.Contains(msg, "1 of 1 uploads failed.") {
		t.Errorf("message %q", msg)
	}
	p.shot("01-upload-refused")

	throttle := func(upload float64) {
		t.Helper()
		if _, err := chromedp.Call(p.ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{UploadThroughput: upload, DownloadThroughput: -1}}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := chromedp.Call(p.ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	throttle(1 << 20)
	writeRandom(t, filepath.Join(dir, "slow.bin"), 20_000_000)
	p.do(chromedp.SetUploadFiles(css("#file-input"), []string{filepath.Join(dir, "slow.bin")}))
	p.waitJS("the upload under way", `document.getElementById('total-progress').value > 0`)
	p.do(chromedp.Click(css("#cancel-uploads")))
	p.waitJS("the cancellation", `(document.querySelector('#upload-list li[data-key="slow.bin"]') || {}).textContent?.includes('cancelled')`)
	p.shot("02-upload-cancelled")
	throttle(-1)

	deadline := time.Now().Add(30 * time.Second)
	for {
		out, err := c.ListMultipartUploads(ctx, &s3.ListMultipartUploadsInput{Bucket: aws.String("uploads")})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Uploads) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the cancelled multipart upload was not aborted: %d in progress", len(out.Uploads))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("uploads"), Key: aws.String("slow.bin")}); err == nil {
		t.Error("the cancelled upload made an object")
	}
}
