package console

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// TestConsoleDragAndDrop drops a folder (with a subfolder) and a file on
// the drop zone: every file is uploaded under its relative path.
func TestConsoleDragAndDrop(t *testing.T) {
	s := serve(t)
	c := s3Client(s.URL, http.DefaultClient)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("drops")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{Bucket: aws.String("drops"),
		VersioningConfiguration: &types.VersioningConfiguration{Status: types.BucketVersioningStatusEnabled}}); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	if err := os.MkdirAll(filepath.Join(tree, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var first []byte
	for _, name := range []string{"tree/a.txt", "tree/sub/b.txt", "loose.txt"} {
		first = writeRandom(t, filepath.Join(dir, name), 100)
	}

	p := newBrowser(t, s.URL+"/_console/", false)
	p.signIn(rwKey, rwSecret)
	p.waitJS("the console", `document.body.dataset.ready === 'true'`)
	p.do(chromedp.Click(css(`li[data-bucket="drops"] a.bucket`)), chromedp.WaitVisible(css("#dropzone")))
	pt := eval[[]float64](p, `(() => { const d = document.getElementById('dropzone'); d.scrollIntoView({block: 'center'});
		const r = d.getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()`)
	data := &input.DragData{Items: []*input.DragDataItem{}, Files: []string{tree, filepath.Join(dir, "loose.txt")}, DragOperationsMask: 1}
	for _, typ := range []input.DispatchDragEventType{input.DispatchDragEventTypeDragEnter, input.DispatchDragEventTypeDragOver, input.DispatchDragEventTypeDrop} {
		if _, err := chromedp.Call(p.ctx, input.DispatchDragEvent, input.DispatchDragEventParams{Type: typ, X: pt[0], Y: pt[1], Data: data}); err != nil {
			t.Fatal(err)
		}
	}
	p.waitJS("the dropped files uploaded", `document.getElementById('total-text').textContent.startsWith('100% · 3 of 3 files ·')`)
	p.shot("01-dropped")
	for _, key := range []string{"tree/a.txt", "tree/sub/b.txt", "loose.txt"} {
		if _, err := c.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("drops"), Key: aws.String(key)}); err != nil {
			t.Errorf("%s: %v", key, err)
		}
	}

	// The bucket is versioned: a second upload of loose.txt makes a second
	// version; the details list both and the first one downloads.
	writeRandom(t, filepath.Join(dir, "loose.txt"), 200)
	p.do(chromedp.SetUploadFiles(css("#file-input"), []string{filepath.Join(dir, "loose.txt")}))
	p.waitJS("the second upload", `document.getElementById('total-text').textContent.startsWith('100% · 1 of 1 files ·')`)
	p.do(chromedp.Click(css(`tr[data-key="loose.txt"] button.details`)), chromedp.WaitVisible(css("#versions")))
	if n := eval[int](p, `document.querySelectorAll('#versions li').length`); n != 2 {
		t.Fatalf("%d versions listed, want 2", n)
	}
	p.shot("02-versions")
	p.do(chromedp.Click(css(`#versions li:last-child button.download-version`)))
	if got := waitFile(t, filepath.Join(p.download, "loose.txt"), len(first)); !bytes.Equal(got, first) {
		t.Error("the first version downloads other bytes")
	}
}
