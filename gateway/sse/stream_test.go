package sse

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"testing"
)

const S = SegmentSize

func randBytes(n int64) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// encryptLayout encrypts data as the streams of l and returns the stored bytes.
func encryptLayout(t testing.TB, k *DataKey, l Layout, data []byte) []byte {
	var out bytes.Buffer
	for _, s := range l {
		// a reader returning small, uneven reads
		src := &unevenReader{r: bytes.NewReader(data[:s.Size])}
		data = data[s.Size:]
		// read in small pieces, or in whole segments (sealed in place)
		chunk := 1000
		if s.Part%2 == 0 {
			chunk = 3 * segCipher
		}
		n, err := readChunks(&out, Encrypter(src, k.AEAD, s.Part), chunk)
		if err != nil {
			t.Fatal(err)
		}
		if n != CipherSize(s.Size) {
			t.Fatalf("stream of %d bytes stored in %d, CipherSize says %d", s.Size, n, CipherSize(s.Size))
		}
	}
	return out.Bytes()
}

// readChunks copies r to w with reads of chunk bytes.
func readChunks(w io.Writer, r io.Reader, chunk int) (int64, error) {
	buf := make([]byte, chunk)
	var total int64
	for {
		n, err := r.Read(buf)
		w.Write(buf[:n])
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

type unevenReader struct {
	r io.Reader
	n int
}

func (u *unevenReader) Read(p []byte) (int, error) {
	u.n++
	if lim := 1 + u.n*7919%40000; len(p) > lim {
		p = p[:lim]
	}
	return u.r.Read(p)
}

// readRange decrypts [off, off+n) from stored bytes.
func readRange(k *DataKey, l Layout, stored []byte, off, n int64) ([]byte, error) {
	cOff, cLen := l.CipherRange(off, n)
	return io.ReadAll(Decrypter(bytes.NewReader(stored[cOff:cOff+cLen]), k.AEAD, l, off, n))
}

func TestSizes(t *testing.T) {
	for _, p := range []int64{0, 1, S - 1, S, S + 1, 2 * S, 5<<20 + 3, 5 << 30} {
		c := CipherSize(p)
		got, err := PlainSize(c)
		if err != nil || got != p {
			t.Errorf("PlainSize(CipherSize(%d)=%d) = %d, %v", p, c, got, err)
		}
	}
	for _, c := range []int64{0, 1, Overhead - 1, S + Overhead + 1, S + Overhead + Overhead - 1} {
		if p, err := PlainSize(c); err == nil {
			t.Errorf("PlainSize(%d) = %d, want an error", c, p)
		}
	}
}

func TestRoundTripRanges(t *testing.T) {
	_, k := newDataKey()
	layouts := map[string]Layout{
		"empty":                   {{0, 0}},
		"one byte":                {{0, 1}},
		"segment":                 {{0, S}},
		"segment+1":               {{0, S + 1}},
		"three and a half":        {{0, 3*S + S/2}},
		"parts":                   {{1, 2*S + 17}, {2, S}, {3, 5}},
		"parts with an empty one": {{1, S + 3}, {2, 0}, {3, S - 1}},
	}
	for name, l := range layouts {
		t.Run(name, func(t *testing.T) {
			data := randBytes(l.Size())
			stored := encryptLayout(t, k, l, data)
			if int64(len(stored)) != l.CipherSize() {
				t.Fatalf("stored %d bytes, CipherSize %d", len(stored), l.CipherSize())
			}
			if bytes.Contains(stored, data[:min(len(data), 16)]) && len(data) >= 16 {
				t.Fatal("plaintext found in the stored bytes")
			}
			size := l.Size()
			offs := []int64{0, 1, S - 1, S, S + 1, size / 2, size - 1}
			for _, off := range offs {
				for _, n := range []int64{0, 1, 2, S, S + 2, size} {
					if off < 0 || off > size || (off == size && n > 0) {
						continue
					}
					n = min(n, size-off)
					got, err := readRange(k, l, stored, off, n)
					if err != nil || !bytes.Equal(got, data[off:off+n]) {
						t.Fatalf("range %d+%d: %d bytes, %v", off, n, len(got), err)
					}
				}
			}
		})
	}
}

func TestTamperDetected(t *testing.T) {
	_, k := newDataKey()
	l := Layout{{1, 2*S + 100}, {2, S + 5}}
	data := randBytes(l.Size())
	stored := encryptLayout(t, k, l, data)
	segLen := int64(S + Overhead)
	part2 := CipherSize(l[0].Size)
	cases := map[string]func([]byte) []byte{
		"flipped byte":  func(b []byte) []byte { b[segLen+100] ^= 1; return b },
		"flipped nonce": func(b []byte) []byte { b[3] ^= 0x80; return b },
		"flipped tag":   func(b []byte) []byte { b[len(b)-1] ^= 1; return b },
		"segments swapped": func(b []byte) []byte {
			s0 := bytes.Clone(b[:segLen])
			copy(b[:segLen], b[segLen:2*segLen])
			copy(b[segLen:2*segLen], s0)
			return b
		},
		"last segment dropped": func(b []byte) []byte {
			// part 1 loses its last segment and gains part 2's first: the sizes still fit
			return append(b[:2*segLen], b[part2:]...)
		},
		"parts swapped": func(b []byte) []byte {
			// two equal-sized first segments of different parts
			out := bytes.Clone(b)
			copy(out[:segLen], b[part2:part2+segLen])
			copy(out[part2:part2+segLen], b[:segLen])
			return out
		},
		"truncated": func(b []byte) []byte { return b[:len(b)-10] },
	}
	for name, tamper := range cases {
		t.Run(name, func(t *testing.T) {
			bad := tamper(bytes.Clone(stored))
			cOff, cLen := l.CipherRange(0, l.Size())
			end := min(cOff+cLen, int64(len(bad)))
			got, err := io.ReadAll(Decrypter(bytes.NewReader(bad[cOff:end]), k.AEAD, l, 0, l.Size()))
			if !errors.Is(err, ErrTampered) {
				t.Fatalf("err = %v, want ErrTampered", err)
			}
			// whatever came out before the failing segment is the true plaintext
			if !bytes.Equal(got, data[:len(got)]) {
				t.Fatal("wrong bytes returned")
			}
		})
	}
}

func TestEncrypterPassesReadErrors(t *testing.T) {
	_, k := newDataKey()
	boom := errors.New("boom")
	r := Encrypter(io.MultiReader(bytes.NewReader(randBytes(S+3)), &errReader{boom}), k.AEAD, 0)
	if _, err := io.ReadAll(r); err != boom {
		t.Fatalf("err = %v, want the source's error unchanged", err)
	}
}

type errReader struct{ err error }

func (e *errReader) Read([]byte) (int, error) { return 0, e.err }

func TestRandomRanges(t *testing.T) {
	_, k := newDataKey()
	l := Layout{{1, 3*S + 11}, {2, 2 * S}, {3, 7}}
	data := randBytes(l.Size())
	stored := encryptLayout(t, k, l, data)
	for i := 0; i < 300; i++ {
		off := mrand.Int64N(l.Size())
		n := mrand.Int64N(l.Size() - off + 1)
		got, err := readRange(k, l, stored, off, n)
		if err != nil || !bytes.Equal(got, data[off:off+n]) {
			t.Fatalf("range %d+%d: %v", off, n, err)
		}
		// the same through WriteTo, after a Read of a few bytes
		cOff, cLen := l.CipherRange(off, n)
		r := Decrypter(bytes.NewReader(stored[cOff:cOff+cLen]), k.AEAD, l, off, n)
		head := make([]byte, min(n, 3))
		if _, err := io.ReadFull(r, head); err != nil {
			t.Fatal(err)
		}
		var rest bytes.Buffer
		if _, err := r.WriteTo(&rest); err != nil || !bytes.Equal(append(head, rest.Bytes()...), data[off:off+n]) {
			t.Fatalf("range %d+%d through WriteTo: %v", off, n, err)
		}
	}
}

// BenchmarkSegmentSize measures AES-256-GCM sealing and opening by segment
// size (the choice of SegmentSize, docs/encryption.md).
func BenchmarkSegmentSize(b *testing.B) {
	for _, size := range []int{4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20} {
		_, k := newDataKey()
		pt := randBytes(int64(size))
		nonce := make([]byte, nonceSize)
		ct := k.AEAD.Seal(nil, nonce, pt, nonce)
		b.Run(fmt.Sprintf("seal/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			out := make([]byte, 0, size+tagSize)
			for range b.N {
				out = k.AEAD.Seal(out[:0], nonce, pt, nonce)
			}
		})
		b.Run(fmt.Sprintf("open/%dKiB", size>>10), func(b *testing.B) {
			b.SetBytes(int64(size))
			out := make([]byte, 0, size)
			for range b.N {
				if _, err := k.AEAD.Open(out[:0], nonce, ct, nonce); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStream measures the encrypting and decrypting readers end to end.
func BenchmarkStream(b *testing.B) {
	_, k := newDataKey()
	const size = 64 << 20
	data := randBytes(size)
	l := Layout{{0, size}}
	stored := encryptLayout(b, k, l, data)
	b.Run("encrypt", func(b *testing.B) {
		b.SetBytes(size)
		for range b.N {
			io.Copy(io.Discard, Encrypter(bytes.NewReader(data), k.AEAD, 0))
		}
	})
	b.Run("decrypt", func(b *testing.B) {
		b.SetBytes(size)
		for range b.N {
			if _, err := io.Copy(io.Discard, Decrypter(bytes.NewReader(stored), k.AEAD, l, 0, size)); err != nil {
				b.Fatal(err)
			}
		}
	})
}
