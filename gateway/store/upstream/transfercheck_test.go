package upstream

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// corruptingTransport flips one byte of the body of every large PUT (not
// the gateway's small records) to an upstream name containing "victim"
// (when corrupt is set), and records how those PUTs carried a checksum.
type corruptingTransport struct {
	corrupt   bool
	stripEcho bool // drop the x-amz-checksum-crc32c of the answers (an upstream that does not check it)

	mu  sync.Mutex
	got []string // per victim PUT: "header", "trailer" or "none"
}

func (c *corruptingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPut || !strings.Contains(req.URL.Path, "victim") || req.ContentLength < 64<<10 {
		return http.DefaultTransport.RoundTrip(req)
	}
	how := "none"
	switch {
	case strings.EqualFold(req.Header.Get("X-Amz-Trailer"), crc32cHeader):
		how = "trailer"
	case req.Header.Get(crc32cHeader) != "":
		how = "header"
	}
	c.mu.Lock()
	c.got = append(c.got, how)
	c.mu.Unlock()
	if c.corrupt && req.Body != nil {
		r := req.Clone(req.Context())
		r.Body = &flipByte{rc: req.Body, at: 1000}
		r.GetBody = nil
		req = r
	}
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err == nil && c.stripEcho {
		resp.Header.Del(crc32cHeader)
	}
	return resp, err
}

func (c *corruptingTransport) take() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.got
	c.got = nil
	return g
}

// flipByte inverts the byte at offset at of the stream.
type flipByte struct {
	rc  io.ReadCloser
	at  int64
	off int64
}

func (f *flipByte) Read(p []byte) (int, error) {
	n, err := f.rc.Read(p)
	if i := f.at - f.off; i >= 0 && i < int64(n) {
		p[i] ^= 0xff
	}
	f.off += int64(n)
	return n, err
}

func (f *flipByte) Close() error { return f.rc.Close() }

// TestTransferCheck sends bodies through a connection that corrupts one
// byte: the transfer check must make the upstream refuse them (nothing
// stored), and over an intact connection the same writes succeed with
// the upstream's ETag.
func TestTransferCheck(t *testing.T) {
	srv := server(t, 1)
	data := storetest.Data(7, 300<<10)
	for _, c := range []struct {
		name    string
		check   string
		bufSize int64
		part    bool
		withMD5 bool   // the gateway computed the MD5 (md5 mode, or Content-MD5)
		want    string // how the PUT carries the check
		// noEcho: what an upstream that does not confirm the CRC32C does
		// to an intact write: "fails" (a trailer it may not have
		// decoded) or "ok" (a header: the bytes went as they are)
		noEcho string
	}{
		{name: "crc32c buffered", check: checkCRC32C, want: "header", noEcho: "ok"},
		{name: "crc32c streamed", check: checkCRC32C, bufSize: 1, want: "trailer", noEcho: "fails"},
		{name: "crc32c part", check: checkCRC32C, part: true, want: "trailer", noEcho: "fails"},
		{name: "crc32c streamed with MD5", check: checkCRC32C, bufSize: 1, withMD5: true, want: "trailer", noEcho: "fails"},
		{name: "md5 buffered", check: checkMD5, withMD5: true, want: "none"},
		{name: "md5 streamed", check: checkMD5, bufSize: 1, withMD5: true, want: "none"},
		{name: "md5 part", check: checkMD5, part: true, withMD5: true, want: "none"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr := &corruptingTransport{}
			cfg := config(srv, newPrefix(t))
			cfg.TransferCheck, cfg.BufferSize = c.check, c.bufSize
			s, err := New(cfg, Options{Transport: tr})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.MakesETags(); got != (c.check != checkMD5) {
				t.Errorf("MakesETags() = %v with check %s", got, c.check)
			}
			ctx := t.Context()
			if err := s.CreateBucket(ctx, "bkt"); err != nil {
				t.Fatal(err)
			}
			input := func() store.PutInput {
				in := storetest.NewBody(t, bytes.NewReader(data), "").Input(int64(len(data)))
				if !c.withMD5 {
					sums := in.Sums
					in.Sums = func() store.Sums { s := sums(); s.MD5 = nil; return s }
				}
				return in
			}
			write := func(key string) (string, error) {
				if !c.part {
					o, err := s.PutObject(ctx, "bkt", key, input())
					if err != nil {
						return "", err
					}
					return o.ETag, nil
				}
				id, err := s.CreateMultipartUpload(ctx, "bkt", key, store.UploadInput{})
				if err != nil {
					t.Fatal(err)
				}
				p, err := s.UploadPart(ctx, "bkt", key, id, 1, input())
				if err != nil {
					// (With md5, or an upstream that does not confirm the
					// CRC32C, the upstream has stored the part when the
					// gateway finds it wrong: the client never got its
					// ETag to complete with.)
					page, lerr := s.ListParts(ctx, "bkt", key, id, 0, 10)
					if c.check != checkMD5 && !tr.stripEcho && (lerr != nil || len(page.Parts) != 0) {
						t.Errorf("parts after a refused part: %+v, %v", page, lerr)
					}
					return "", err
				}
				return p.ETag, nil
			}

			tr.corrupt = true
			if etag, err := write("victim-1"); err == nil {
				t.Fatalf("a corrupted body was stored (ETag %s)", etag)
			}
			if !c.part {
				if _, err := s.HeadObject(ctx, "bkt", "victim-1"); !errors.Is(err, store.ErrNoSuchKey) {
					t.Errorf("HeadObject after a refused write: %v, want ErrNoSuchKey", err)
				}
			}
			tr.corrupt = false
			etag, err := write("victim-2")
			if err != nil {
				t.Fatalf("intact write: %v", err)
			}
			if want := storetest.MD5Hex(data); etag != want {
				t.Errorf("ETag %s, want the upstream's (MinIO: the MD5) %s", etag, want)
			}
			for _, how := range tr.take() {
				if how != c.want {
					t.Errorf("the upstream PUT carried its check as %s, want %s", how, c.want)
				}
			}

			if c.noEcho == "" {
				return
			}
			tr.stripEcho = true
			_, err = write("victim-3")
			switch {
			case c.noEcho == "ok" && err != nil:
				t.Errorf("write to an upstream that does not confirm a CRC32C header: %v", err)
			case c.noEcho == "fails" && err == nil:
				t.Errorf("a write whose CRC32C trailer the upstream did not confirm succeeded")
			case c.noEcho == "fails" && !c.part:
				if _, err := s.HeadObject(ctx, "bkt", "victim-3"); !errors.Is(err, store.ErrNoSuchKey) {
					t.Errorf("HeadObject after an unconfirmed write: %v, want ErrNoSuchKey", err)
				}
			}
		})
	}
}

func TestResolveCheck(t *testing.T) {
	for _, c := range []struct{ v, scheme, want string }{
		{"", "http", checkCRC32C},
		{"", "https", checkNone},
		{"crc32c", "https", checkCRC32C},
		{"md5", "http", checkMD5},
		{"none", "http", checkNone},
		{"sha1", "http", ""},
		{"CRC32C", "http", ""},
	} {
		got, err := resolveCheck(c.v, c.scheme)
		if got != c.want || (err != nil) != (c.want == "") {
			t.Errorf("resolveCheck(%q, %q) = %q, %v; want %q", c.v, c.scheme, got, err, c.want)
		}
	}
}
