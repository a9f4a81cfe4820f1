package upstream

import (
	"io"
	"net/http"
	"testing"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// countingReader counts the bytes read from it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// TestUploadPartUnknownLength: a part without a length is refused with
// 411 MissingContentLength, as AWS refuses it, before any of its body is
// read (it used to be read whole into memory, up to 5 GiB); parts of
// known length still stream.
func TestUploadPartUnknownLength(t *testing.T) {
	srv := server(t, 1)
	s := open(t, config(srv, newPrefix(t)))
	ctx := t.Context()
	if err := s.CreateBucket(ctx, "parts"); err != nil {
		t.Fatal(err)
	}
	id, err := s.CreateMultipartUpload(ctx, "parts", "k", store.UploadInput{})
	if err != nil {
		t.Fatal(err)
	}
	data := storetest.Data(7, 1<<20)
	in := storetest.Input(t, data, "")
	body := &countingReader{r: in.Body}
	in.Body, in.Size = body, -1
	_, err = s.UploadPart(ctx, "parts", "k", id, 1, in)
	if e := s3err.As(err); e == nil || e.Code != "MissingContentLength" || e.Status != http.StatusLengthRequired {
		t.Fatalf("UploadPart of unknown length: %v, want 411 MissingContentLength", err)
	}
	if body.n != 0 {
		t.Errorf("the refused part's body was read: %d bytes", body.n)
	}
	page, err := s.ListParts(ctx, "parts", "k", id, 0, 0)
	if err != nil || len(page.Parts) != 0 {
		t.Fatalf("parts after the refusal: %+v, %v; want none", page, err)
	}
	p, err := s.UploadPart(ctx, "parts", "k", id, 1, storetest.Input(t, data, ""))
	if err != nil || p.Size != int64(len(data)) {
		t.Fatalf("UploadPart of known length: %+v, %v", p, err)
	}
}
