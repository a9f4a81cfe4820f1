package upstream

import (
	"bufio"
	"bytes"
	"errors"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/lambda/storagecli/gateway/store/storetest"
)

// decodeChunked decodes an aws-chunked body with one trailer line.
func decodeChunked(t *testing.T, enc []byte) (data []byte, trailer string) {
	t.Helper()
	br := bufio.NewReader(bytes.NewReader(enc))
	for {
		line, err := br.ReadString('\n')
		if err != nil || !strings.HasSuffix(line, "\r\n") {
			t.Fatalf("chunk header %q: %v", line, err)
		}
		n, err := strconv.ParseInt(strings.TrimSuffix(line, "\r\n"), 16, 64)
		if err != nil {
			t.Fatalf("chunk size %q: %v", line, err)
		}
		if n == 0 {
			break
		}
		if n > trailedChunk {
			t.Fatalf("chunk of %d bytes", n)
		}
		chunk := make([]byte, n+2)
		if _, err := io.ReadFull(br, chunk); err != nil || string(chunk[n:]) != "\r\n" {
			t.Fatalf("chunk data: %v %q", err, chunk[n:])
		}
		data = append(data, chunk[:n]...)
	}
	rest, _ := io.ReadAll(br)
	if !strings.HasSuffix(string(rest), "\r\n\r\n") || strings.Count(string(rest), "\r\n") != 2 {
		t.Fatalf("trailer %q", rest)
	}
	return data, strings.TrimSuffix(string(rest), "\r\n\r\n")
}

// TestCRCChunked: the encoder frames any size read in any pieces as
// aws-chunked with the body's CRC32C as its trailer, in exactly
// chunkedLength bytes, and fails a body shorter or longer than declared.
func TestCRCChunked(t *testing.T) {
	for _, size := range []int64{0, 1, 1000, trailedChunk - 1, trailedChunk, trailedChunk + 1, 3*trailedChunk + 17} {
		data := storetest.Data(uint64(size), int(size))
		for name, src := range map[string]io.Reader{
			"whole":    bytes.NewReader(data),
			"one-byte": iotest.OneByteReader(bytes.NewReader(data)),
			"halves":   iotest.HalfReader(bytes.NewReader(data)),
			"data-eof": iotest.DataErrReader(bytes.NewReader(data)),
		} {
			enc, err := io.ReadAll(newCRCChunked(&crcReader{r: src}, size))
			if err != nil {
				t.Fatalf("%d %s: %v", size, name, err)
			}
			if int64(len(enc)) != chunkedLength(size) {
				t.Errorf("%d %s: %d bytes, chunkedLength %d", size, name, len(enc), chunkedLength(size))
			}
			got, trailer := decodeChunked(t, enc)
			if !bytes.Equal(got, data) {
				t.Errorf("%d %s: body differs", size, name)
			}
			if want := "x-amz-checksum-crc32c:" + crc32cValue(crc32.Checksum(data, castagnoli)); trailer != want {
				t.Errorf("%d %s: trailer %q, want %q", size, name, trailer, want)
			}
		}
	}
	data := storetest.Data(1, 1000)
	for _, tc := range []struct {
		name string
		src  io.Reader
		size int64
	}{
		{"short", bytes.NewReader(data[:999]), 1000},
		{"long", bytes.NewReader(data), 999},
		{"failing", io.MultiReader(bytes.NewReader(data[:500]), iotest.ErrReader(errors.New("boom"))), 1000},
	} {
		if _, err := io.ReadAll(newCRCChunked(&crcReader{r: tc.src}, tc.size)); err == nil {
			t.Errorf("%s body: encoded without an error", tc.name)
		}
	}
}
