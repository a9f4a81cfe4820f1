package checksum

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

var algs = []string{store.CRC32, store.CRC32C, store.CRC64NVME, store.SHA1, store.SHA256,
	store.SHA512, store.MD5, store.XXHASH64, store.XXHASH3, store.XXHASH128}

func sum(t *testing.T, alg string, data []byte) []byte {
	t.Helper()
	h, err := New(alg)
	if err != nil {
		t.Fatalf("New(%q): %v", alg, err)
	}
	h.Write(data)
	return h.Sum(nil)
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestKnownValues(t *testing.T) {
	check := []byte("123456789")
	tests := []struct {
		alg  string
		want string // hex of Sum
	}{
		{store.CRC32, "cbf43926"},
		{store.CRC32C, "e3069283"},
		{store.CRC64NVME, "ae8b14860a799888"},
		{store.SHA1, "f7c3bc1d808e04732adf679965ccc34ca7ae3441"},
		{store.SHA256, "15e2b0d3c33891ebb0f1ef609ec419420c20e320ce94c65fbc8c3312448eb225"},
		{store.SHA512, "d9e6762dd1c8eaf6d61b3c6192fc408d4d6d5f1176d0c29169bc24e71c3f274ad27fcd5811b313d681f7e55ec02d73d499c95455b6b5bb503acf574fba8ffe85"},
		{store.MD5, "25f9e794323b453885f5181f1b624d0b"},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			got := sum(t, tt.alg, check)
			if h := hexs(got); h != tt.want {
				t.Errorf("%s(123456789) = %s, want %s", tt.alg, h, tt.want)
			}
			if len(got) != Size(tt.alg) {
				t.Errorf("Size(%s) = %d, sum has %d bytes", tt.alg, Size(tt.alg), len(got))
			}
		})
	}
}

// TestXXHashEmpty checks the xxHash digests of the empty input against the
// reference implementation's published values, in canonical byte order.
func TestXXHashEmpty(t *testing.T) {
	for alg, want := range map[string]string{
		store.XXHASH64:  "ef46db3751d8e999",
		store.XXHASH3:   "2d06800538d394c2",
		store.XXHASH128: "99aa06d3014798d86001c324468d497f",
	} {
		got := sum(t, alg, nil)
		if h := hexs(got); h != want {
			t.Errorf("%s(\"\") = %s, want %s", alg, h, want)
		}
		if len(got) != Size(alg) {
			t.Errorf("Size(%s) = %d, sum has %d bytes", alg, Size(alg), len(got))
		}
	}
}

func hexs(b []byte) string {
	const digits = "0123456789abcdef"
	out := make([]byte, 0, 2*len(b))
	for _, c := range b {
		out = append(out, digits[c>>4], digits[c&15])
	}
	return string(out)
}

func TestNames(t *testing.T) {
	tests := []struct {
		alg, header, typ string
		full             bool
	}{
		{store.CRC32, "x-amz-checksum-crc32", store.Composite, true},
		{store.CRC32C, "x-amz-checksum-crc32c", store.Composite, true},
		{store.CRC64NVME, "x-amz-checksum-crc64nvme", store.FullObject, true},
		{store.SHA1, "x-amz-checksum-sha1", store.Composite, false},
		{store.SHA256, "x-amz-checksum-sha256", store.Composite, false},
		{"BLAKE3", "", "", false},
		{"XXHASH3", "x-amz-checksum-xxhash3", store.Composite, false},
		{"crc32", "", "", false},
		{"", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.alg, func(t *testing.T) {
			valid := tt.header != ""
			if Valid(tt.alg) != valid {
				t.Errorf("Valid(%q) = %v", tt.alg, !valid)
			}
			if got := HeaderName(tt.alg); got != tt.header {
				t.Errorf("HeaderName(%q) = %q, want %q", tt.alg, got, tt.header)
			}
			if got := DefaultType(tt.alg); got != tt.typ {
				t.Errorf("DefaultType(%q) = %q, want %q", tt.alg, got, tt.typ)
			}
			if got := SupportsFullObject(tt.alg); got != tt.full {
				t.Errorf("SupportsFullObject(%q) = %v", tt.alg, got)
			}
			if _, err := New(tt.alg); (err == nil) != valid {
				t.Errorf("New(%q) error %v", tt.alg, err)
			} else if err != nil && !errors.Is(err, s3err.InvalidRequest) {
				t.Errorf("New(%q) error %v, want InvalidRequest", tt.alg, err)
			}
		})
	}
}

func TestFromHeaderName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"x-amz-checksum-crc64nvme", store.CRC64NVME},
		{"X-Amz-Checksum-Crc32c", store.CRC32C},
		{"X-AMZ-CHECKSUM-CRC32", store.CRC32},
		{"x-amz-checksum-sha1", store.SHA1},
		{"x-amz-checksum-SHA256", store.SHA256},
		{"x-amz-checksum-md5", "MD5"},
		{"x-amz-checksum-blake3", ""},
		{"x-amz-checksum-", ""},
		{"x-amz-checksum-algorithm", ""},
		{"x-amz-checksum-type", ""},
		{"crc32", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := FromHeaderName(tt.in); got != tt.want {
			t.Errorf("FromHeaderName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// split cuts data into n parts at random points (empty parts and 1-byte
// parts included).
func split(r *rand.Rand, data []byte, n int) [][]byte {
	cuts := make([]int, n-1)
	for i := range cuts {
		switch r.IntN(4) {
		case 0: // repeat the previous cut: an empty part
			if i > 0 {
				cuts[i] = cuts[i-1]
				continue
			}
		case 1: // a 1-byte part
			if i > 0 && cuts[i-1] < len(data) {
				cuts[i] = cuts[i-1] + 1
				continue
			}
		}
		cuts[i] = r.IntN(len(data) + 1)
	}
	// keep cuts ascending
	for i := 1; i < len(cuts); i++ {
		if cuts[i] < cuts[i-1] {
			cuts[i] = cuts[i-1]
		}
	}
	parts := make([][]byte, 0, n)
	prev := 0
	for _, c := range cuts {
		parts = append(parts, data[prev:c])
		prev = c
	}
	return append(parts, data[prev:])
}

func TestCombineFullObject(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	sizes := []int{0, 1, 2, 7, 100, 4096, 100_003}
	for _, alg := range []string{store.CRC32, store.CRC32C, store.CRC64NVME} {
		for _, size := range sizes {
			for _, n := range []int{1, 2, 3, 5, 17} {
				t.Run(alg+"/"+strconv.Itoa(size)+"/"+strconv.Itoa(n), func(t *testing.T) {
					data := make([]byte, size)
					for i := range data {
						data[i] = byte(r.Uint32())
					}
					for trial := 0; trial < 5; trial++ {
						parts := split(r, data, n)
						ps := make([]PartSum, len(parts))
						for i, p := range parts {
							ps[i] = PartSum{Value: b64(sum(t, alg, p)), Size: int64(len(p))}
						}
						got, err := Combine(alg, store.FullObject, ps)
						if err != nil {
							t.Fatal(err)
						}
						if want := b64(sum(t, alg, data)); got != want {
							t.Fatalf("Combine over sizes %v = %s, want %s", partSizes(parts), got, want)
						}
					}
				})
			}
		}
	}
}

func partSizes(parts [][]byte) []int {
	s := make([]int, len(parts))
	for i, p := range parts {
		s[i] = len(p)
	}
	return s
}

// TestCombineHugeLength checks the GF(2) shift for lengths too big to hash:
// appending n zero bytes to A equals shifting CRC(A) by n bytes, xored with
// CRC(n zero bytes). Checked against direct computation at moderate n and for
// consistency (shift by a+b = shift by a then by b) at huge n.
func TestCombineHugeLength(t *testing.T) {
	for _, alg := range []string{store.CRC32, store.CRC32C, store.CRC64NVME} {
		c := crcOf(alg)
		for _, n := range []uint64{1, 8, 1000, 1 << 20} {
			direct := c.xpow8n(n)
			var step uint64 = c.top
			for i := uint64(0); i < n; i++ { // x^8 each step
				step = c.multmodp(c.x2n[3], step)
			}
			if direct != step {
				t.Errorf("%s: x^(8*%d) = %x, stepwise %x", alg, n, direct, step)
			}
		}
		for _, ab := range [][2]uint64{{1 << 40, 5 << 40}, {1<<62 - 1, 1<<62 + 3}, {3, 1<<63 - 4}} {
			a, b := ab[0], ab[1]
			got := c.multmodp(c.xpow8n(a), c.xpow8n(b))
			if want := c.xpow8n(a + b); got != want {
				t.Errorf("%s: x^8a·x^8b = %x, x^8(a+b) = %x (a=%d b=%d)", alg, got, want, a, b)
			}
		}
	}
}

func TestCombineComposite(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, alg := range algs {
		t.Run(alg, func(t *testing.T) {
			data := make([]byte, 10_000)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			parts := split(r, data, 4)
			ps := make([]PartSum, len(parts))
			var cat []byte
			for i, p := range parts {
				s := sum(t, alg, p)
				cat = append(cat, s...)
				ps[i] = PartSum{Value: b64(s), Size: int64(len(p))}
			}
			got, err := Combine(alg, store.Composite, ps)
			if err != nil {
				t.Fatal(err)
			}
			if want := b64(sum(t, alg, cat)) + "-4"; got != want {
				t.Errorf("Combine = %s, want %s", got, want)
			}
		})
	}
}

// TestCombineCompositeKnown pins the composite format against a value
// computed independently: CRC32 of the concatenated big-endian part CRCs.
func TestCombineCompositeKnown(t *testing.T) {
	p1, p2 := []byte("hello "), []byte("world")
	var cat [8]byte
	binary.BigEndian.PutUint32(cat[0:], 0xed81f9f6) // crc32("hello ")
	binary.BigEndian.PutUint32(cat[4:], 0x3a771143) // crc32("world")
	if got := sum(t, store.CRC32, p1); !bytes.Equal(got, cat[0:4]) {
		t.Fatalf("crc32(hello ) = %x", got)
	}
	if got := sum(t, store.CRC32, p2); !bytes.Equal(got, cat[4:8]) {
		t.Fatalf("crc32(world) = %x", got)
	}
	got, err := Combine(store.CRC32, store.Composite, []PartSum{
		{Value: b64(cat[0:4]), Size: 6}, {Value: b64(cat[4:8]), Size: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if want := b64(sum(t, store.CRC32, cat[:])) + "-2"; got != want {
		t.Errorf("Combine = %s, want %s", got, want)
	}
	full, err := Combine(store.CRC32, store.FullObject, []PartSum{
		{Value: b64(cat[0:4]), Size: 6}, {Value: b64(cat[4:8]), Size: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "DUoRhQ=="; full != want { // crc32("hello world") = 0x0d4a1185
		t.Errorf("full-object Combine = %s, want %s", full, want)
	}
}

func TestCombineErrors(t *testing.T) {
	good32 := b64([]byte{1, 2, 3, 4})
	tests := []struct {
		name, alg, typ string
		parts          []PartSum
		want           *s3err.Error
	}{
		{"unknown alg", "BLAKE3", store.Composite, []PartSum{{good32, 1}}, s3err.InvalidRequest},
		{"unknown type", store.CRC32, "BOTH", []PartSum{{good32, 1}}, s3err.InvalidRequest},
		{"sha full object", store.SHA256, store.FullObject, []PartSum{{b64(make([]byte, 32)), 1}}, s3err.InvalidRequest},
		{"no parts", store.CRC32, store.Composite, nil, s3err.InvalidPart},
		{"bad base64", store.CRC32, store.Composite, []PartSum{{"!!!!!!!!", 1}}, s3err.InvalidPart},
		{"wrong length", store.CRC32, store.FullObject, []PartSum{{good32, 1}, {b64(make([]byte, 8)), 1}}, s3err.InvalidPart},
		{"unpadded", store.CRC32, store.Composite, []PartSum{{"AQIDBA", 1}}, s3err.InvalidPart},
		{"negative size", store.CRC32, store.FullObject, []PartSum{{good32, -1}}, s3err.InvalidPart},
		{"composite suffix", store.CRC32, store.Composite, []PartSum{{good32 + "-1", 1}}, s3err.InvalidPart},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Combine(tt.alg, tt.typ, tt.parts)
			if !errors.Is(err, tt.want) {
				t.Errorf("Combine error %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeValue(t *testing.T) {
	var dst [32]byte
	tests := []struct {
		alg, value string
		ok         bool
	}{
		{store.CRC32, "AAAAAA==", true},
		{store.CRC32, "AAAAAA=", false},
		{store.CRC32, "AAAAAAAA", false},
		{store.CRC32, "AAAAAB==", false}, // non-zero padding bits: not canonical
		{store.CRC64NVME, "AAAAAAAAAAA=", true},
		{store.CRC64NVME, "AAAAAA==", false},
		{store.SHA1, b64(make([]byte, 20)), true},
		{store.SHA256, b64(make([]byte, 32)), true},
		{store.SHA256, b64(make([]byte, 20)), false},
		{"BLAKE3", b64(make([]byte, 16)), false},
		{"MD5", b64(make([]byte, 16)), true},
	}
	for _, tt := range tests {
		if got := DecodeValue(tt.alg, tt.value, dst[:]); got != tt.ok {
			t.Errorf("DecodeValue(%s, %q) = %v, want %v", tt.alg, tt.value, got, tt.ok)
		}
	}
}

// TestUploadType: the one validation of a multipart upload's checksum
// algorithm and type (the gateway and both stores use it).
func TestUploadType(t *testing.T) {
	for _, c := range []struct {
		alg, typ, want string
		ok             bool
	}{
		{"", "", "", true},
		{"", store.Composite, "", false},
		{"BLAKE3", "", "", false},
		{"MD5", "FULL_OBJECT", "", false},
		{store.CRC32, "", store.Composite, true},
		{store.SHA256, "", store.Composite, true},
		{store.CRC64NVME, "", store.FullObject, true},
		{store.CRC32C, store.FullObject, store.FullObject, true},
		{store.CRC32, store.Composite, store.Composite, true},
		{store.SHA1, store.FullObject, "", false},
		{store.CRC64NVME, store.Composite, "", false},
		{store.CRC32, "PARTIAL", "", false},
	} {
		got, err := UploadType(c.alg, c.typ)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("UploadType(%q, %q) = %q, %v; want %q, ok %v", c.alg, c.typ, got, err, c.want, c.ok)
		}
		if err != nil && s3err.As(err) == nil {
			t.Errorf("UploadType(%q, %q): %v is not an S3 error", c.alg, c.typ, err)
		}
	}
}
