package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"strconv"
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

// The trailer encoder frames unsigned aws-chunked bodies as botocore does:
// the data in chunks, then "0", the CRC32 trailer and an empty line, in
// exactly trailerLength bytes.
func TestTrailerEncoder(t *testing.T) {
	for _, n := range []int{0, 1, 8191, 8192, 8193, 3*8192 + 5} {
		data := bytes.Repeat([]byte("ab"), n)[:n]
		req := smithyhttp.NewStackRequest().(*smithyhttp.Request)
		req.Header = http.Header{}
		req.Header.Set("X-Amz-Decoded-Content-Length", strconv.Itoa(n))
		req, err := req.SetStream(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(iotest.HalfReader(newTrailerEncoder(req, 8192)))
		if err != nil {
			t.Fatal(err)
		}
		var want bytes.Buffer
		for rest := data; len(rest) > 0; rest = rest[min(len(rest), 8192):] {
			c := rest[:min(len(rest), 8192)]
			fmt.Fprintf(&want, "%x\r\n%s\r\n", len(c), c)
		}
		sum := crc32.ChecksumIEEE(data)
		fmt.Fprintf(&want, "0\r\nx-amz-checksum-crc32:%s\r\n\r\n", base64.StdEncoding.EncodeToString([]byte{byte(sum >> 24), byte(sum >> 16), byte(sum >> 8), byte(sum)}))
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%d bytes: framed %q, want %q", n, tail(string(got), 80), tail(want.String(), 80))
		}
		if int64(len(got)) != trailerLength(int64(n), 8192) {
			t.Errorf("%d bytes: framed %d, trailerLength %d", n, len(got), trailerLength(int64(n), 8192))
		}
	}
}

// hashfloor prints a line for each set of hashes, with the CPU per MiB of
// a run that hashed the bytes asked for.
func TestHashFloor(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := mainErr([]string{"hashfloor", "--size", "1MiB", "--repeat", "1", "--label", "hashfloor/r1"}, &out, &errOut); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	dec := json.NewDecoder(&out)
	seen := map[string]bool{}
	for dec.More() {
		var r Result
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		if r.Phase != phaseHashFloor || r.Label != "hashfloor/r1" || r.Bytes != 1<<20 || r.CPUmsPerMiB <= 0 || r.Hashes == "" {
			t.Errorf("bad result %+v", r)
		}
		seen[r.Payload] = true
	}
	for _, s := range floorSets {
		if !seen[s.name] {
			t.Errorf("no result for %s", s.name)
		}
	}
	if !strings.Contains(errOut.String(), "sha256+md5+crc64nvme") {
		t.Errorf("no table: %s", errOut.String())
	}
}
