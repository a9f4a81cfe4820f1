package main

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"

	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// TestChunkEncoderDocExample frames the example of
// https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html
// (66560 bytes of 'a', 64 KiB chunks) and expects its documented signatures.
func TestChunkEncoderDocExample(t *testing.T) {
	const (
		secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
		seed   = "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
	)
	data := bytes.Repeat([]byte("a"), 66560)
	req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
	req.Header = http.Header{}
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"+
		"SignedHeaders=content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class,Signature="+seed)
	req.Header.Set("X-Amz-Date", "20130524T000000Z")
	req.Header.Set("X-Amz-Decoded-Content-Length", "66560")
	req, err := req.SetStream(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	enc, err := newChunkEncoder(req, secret, 64<<10)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(iotest.OneByteReader(enc))
	if err != nil {
		t.Fatal(err)
	}
	want := "10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n" + strings.Repeat("a", 65536) + "\r\n" +
		"400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n" + strings.Repeat("a", 1024) + "\r\n" +
		"0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n"
	if string(got) != want {
		t.Errorf("framed body differs from the documented one (%d bytes, want %d)", len(got), len(want))
	}
	if n := chunkedLength(66560, 64<<10); n != 66824 {
		t.Errorf("chunkedLength = %d, documented Content-Length is 66824", n)
	}
	for _, n := range []int64{0, 1, 65535, 65536, 65537, 3 << 16} {
		enc, _ := newChunkEncoder(req, secret, 64<<10)
		enc.src = bytes.NewReader(make([]byte, n))
		b, _ := io.ReadAll(enc)
		if int64(len(b)) != chunkedLength(n, 64<<10) {
			t.Errorf("%d bytes: framed %d, chunkedLength %d", n, len(b), chunkedLength(n, 64<<10))
		}
	}
}

func TestParseSize(t *testing.T) {
	for s, want := range map[string]int64{"4096": 4096, "4KiB": 4096, "64MiB": 64 << 20, "1GiB": 1 << 30, "10MB": 10e6, "4k": 4096, "0": 0, "1.5KiB": 1536} {
		if got, err := parseSize(s); err != nil || got != want {
			t.Errorf("parseSize(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "KiB", "4XB", "-1"} {
		if _, err := parseSize(s); err == nil {
			t.Errorf("parseSize(%q) accepted", s)
		}
	}
}
