package sigv4

import (
	"bytes"
	"io"
	"net/http"
	"testing"
	"testing/iotest"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// FuzzChunkedReader feeds arbitrary bodies to the decoder: it must never
// panic or loop, must return no more bytes than it was given, and must end
// with io.EOF or a sticky *s3err.Error. `go test` runs only the seeds; run
// `go test -fuzz=FuzzChunkedReader ./gateway/sigv4/` to explore.
func FuzzChunkedReader(f *testing.F) {
	modes := []string{StreamingSigned, StreamingSignedTrailer, StreamingUnsignedTrailer}
	for _, b := range smallBodies() {
		for i, m := range modes {
			if m == b.auth.PayloadHash {
				f.Add(b.body, uint8(i), uint16(7))
				f.Add(b.body, uint8(i|0x80), uint16(1))
			}
		}
	}
	f.Add([]byte("0\r\n\r\n"), uint8(2), uint16(3))
	f.Add([]byte("5\r\nhello\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n\r\n"), uint8(2), uint16(64))
	f.Add([]byte("ffffffff;chunk-signature=\r\n"), uint8(0), uint16(100))
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, readSize uint16) {
		a, _ := testAuth(modes[int(mode&0x7f)%len(modes)])
		if mode&0x80 != 0 {
			a.decodedLen = int64(len(body) / 3)
		}
		cr := NewChunkedReader(iotest.HalfReader(bytes.NewReader(body)), a)
		p := make([]byte, int(readSize)%(80<<10)+1)
		total := 0
		for i := 0; ; i++ {
			if i > 2*len(body)+100 {
				t.Fatalf("no progress after %d reads", i)
			}
			n, err := cr.Read(p)
			if n < 0 || n > len(p) {
				t.Fatalf("Read returned n = %d", n)
			}
			total += n
			if err == io.EOF {
				if cr.Trailer() == nil {
					t.Fatal("nil Trailer after EOF")
				}
				break
			}
			if err != nil {
				if s3err.As(err) == nil {
					t.Fatalf("error %T %v is not an *s3err.Error", err, err)
				}
				if n2, err2 := cr.Read(p); n2 != 0 || err2 != err {
					t.Fatalf("error not sticky: %d, %v then %v", n2, err2, err)
				}
				break
			}
		}
		if total > len(body) {
			t.Fatalf("decoded %d bytes from %d", total, len(body))
		}
	})
}

// FuzzVerify throws arbitrary Authorization headers and query strings at
// Verify: it must never panic and must fail with an *s3err.Error.
func FuzzVerify(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "", "/test.txt")
	f.Add("", "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404", "/test.txt")
	f.Add("AWS4-HMAC-SHA256 Credential=/////, SignedHeaders=;;, Signature=", "a=%&b=%zz+", "/%%/%2")
	f.Add("AWS AK:sig", "", "/")
	f.Fuzz(func(t *testing.T, authz, query, path string) {
		r, err := http.NewRequest(http.MethodGet, "http://examplebucket.s3.amazonaws.com/", nil)
		if err != nil {
			t.Skip()
		}
		r.RequestURI = path + "?" + query
		r.URL.RawQuery = query
		r.Header.Set("X-Amz-Date", "20130524T000000Z")
		r.Header.Set("X-Amz-Content-Sha256", emptySHA256)
		r.Header.Set("Range", "bytes=0-9")
		if authz != "" {
			r.Header.Set("Authorization", authz)
		}
		v := &Verifier{Region: "us-east-1", Lookup: lookupOf(docAK, docSecret), Now: func() time.Time { return docTime }}
		a, err := v.Verify(r)
		if err != nil {
			if _, ok := err.(*s3err.Error); !ok || a != nil {
				t.Fatalf("Verify = %v, %T %v", a, err, err)
			}
		} else if a == nil || a.AccessKey != docAK {
			t.Fatalf("Verify = %+v", a)
		}
	})
}
