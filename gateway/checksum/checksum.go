// Package checksum implements the additional checksums of S3 (CRC32, CRC32C,
// CRC64NVME, SHA1, SHA256, and the later MD5, SHA512, XXHASH64, XXHASH3,
// XXHASH128): their hashes, header names, and the combination of part
// checksums into a multipart object's checksum.
package checksum

import (
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"hash"
	"hash/crc32"
	"strconv"
	"strings"

	"github.com/cespare/xxhash/v2"
	"github.com/minio/crc64nvme"
	"github.com/zeebo/xxh3"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// HeaderPrefix is the common prefix of the headers carrying checksum values.
const HeaderPrefix = "x-amz-checksum-"

// Reflected polynomials of the CRC algorithms.
const (
	polyCRC32     = 0xedb88320         // IEEE 802.3, reflected 0x04c11db7
	polyCRC32C    = 0x82f63b78         // Castagnoli, reflected 0x1edc6f41
	polyCRC64NVME = 0x9a6c9329ac4bc9b5 // NVMe, reflected 0xad93d23594c93659
)

var crc32cTable = crc32.MakeTable(crc32.Castagnoli)

// algorithm describes one S3 checksum algorithm.
type algorithm struct {
	name   string // as S3 writes it, e.g. "CRC64NVME"
	header string // the header carrying its value
	size   int    // raw (decoded) value length in bytes
	new    func() hash.Hash
}

// algorithms lists S3's checksum algorithms in the order S3 lists them.
var algorithms = [...]algorithm{
	{store.CRC32, "x-amz-checksum-crc32", 4, func() hash.Hash { return crc32.NewIEEE() }},
	{store.CRC32C, "x-amz-checksum-crc32c", 4, func() hash.Hash { return crc32.New(crc32cTable) }},
	// minio/crc64nvme folds with carry-less multiplication
	// (PCLMULQDQ/VPCLMULQDQ): several GB/s, where hash/crc64's tables run
	// at ~0.5 GB/s.
	{store.CRC64NVME, "x-amz-checksum-crc64nvme", 8, func() hash.Hash { return crc64nvme.New() }},
	{store.SHA1, "x-amz-checksum-sha1", sha1.Size, sha1.New},
	{store.SHA256, "x-amz-checksum-sha256", sha256.Size, sha256.New},
	{store.SHA512, "x-amz-checksum-sha512", sha512.Size, sha512.New},
	{store.MD5, "x-amz-checksum-md5", md5.Size, md5.New},
	// The xxHash family, seed 0, canonical (big-endian) digests: XXH64,
	// XXH3's 64-bit and its 128-bit variant.
	{store.XXHASH64, "x-amz-checksum-xxhash64", 8, func() hash.Hash { return xxhash.New() }},
	{store.XXHASH3, "x-amz-checksum-xxhash3", 8, func() hash.Hash { return xxh3.New() }},
	{store.XXHASH128, "x-amz-checksum-xxhash128", 16, func() hash.Hash { return xxh3.New128() }},
}

// Names lists the supported algorithm names, as S3 lists them.
var Names = func() []string {
	var out []string
	for _, a := range algorithms {
		out = append(out, a.name)
	}
	return out
}()

// ErrUnsupported is the error for an algorithm name that is not one of S3's
// (InvalidRequest, with S3's message).
var ErrUnsupported = s3err.InvalidRequest.WithMessage("Checksum algorithm provided is unsupported. Please try again with any of the valid types: [%s]", strings.Join(Names, ", "))

func lookup(alg string) *algorithm {
	for i := range algorithms {
		if algorithms[i].name == alg {
			return &algorithms[i]
		}
	}
	return nil
}

// New returns a hash.Hash for an S3 checksum algorithm (one of Names). Sum()
// gives big-endian bytes as S3 base64-encodes them. An unknown algorithm is
// an *s3err.Error (InvalidRequest).
func New(alg string) (hash.Hash, error) {
	if a := lookup(alg); a != nil {
		return a.new(), nil
	}
	return nil, ErrUnsupported
}

// Valid reports whether alg is a supported algorithm name (upper case as S3
// writes them).
func Valid(alg string) bool { return lookup(alg) != nil }

// Size returns the length in bytes of alg's raw (decoded) checksum value,
// or 0 if alg is not supported.
func Size(alg string) int {
	if a := lookup(alg); a != nil {
		return a.size
	}
	return 0
}

// HeaderName returns the header carrying alg's value, e.g.
// "x-amz-checksum-crc32"; "" if alg is not supported.
func HeaderName(alg string) string {
	if a := lookup(alg); a != nil {
		return a.header
	}
	return ""
}

// FromHeaderName maps "x-amz-checksum-crc64nvme" (any case) to "CRC64NVME",
// or "" if h is not the header of a supported algorithm.
func FromHeaderName(h string) string {
	if len(h) <= len(HeaderPrefix) || !strings.EqualFold(h[:len(HeaderPrefix)], HeaderPrefix) {
		return ""
	}
	alg := strings.ToUpper(h[len(HeaderPrefix):])
	if !Valid(alg) {
		return ""
	}
	return alg
}

// DefaultType is the checksum type S3 uses for alg in multipart uploads when
// the client does not say (CRC64NVME: FULL_OBJECT; others COMPOSITE); "" if
// alg is not supported.
func DefaultType(alg string) string {
	switch {
	case alg == store.CRC64NVME:
		return store.FullObject
	case Valid(alg):
		return store.Composite
	}
	return ""
}

// SupportsFullObject reports whether alg can be combined as FULL_OBJECT (the
// CRCs only).
func SupportsFullObject(alg string) bool { return crcOf(alg) != nil }

// UploadType validates a multipart upload's checksum algorithm and type
// (as CreateMultipartUpload takes them; alg "" for none) and returns the
// type to use: typ, or DefaultType(alg) when typ is "". Errors are
// *s3err.Error values (InvalidRequest), with S3's messages.
func UploadType(alg, typ string) (string, error) {
	switch {
	case alg == "" && typ != "":
		return "", s3err.InvalidRequest.WithMessage("The x-amz-checksum-type header can only be used with the x-amz-checksum-algorithm header.")
	case alg == "":
		return "", nil
	case !Valid(alg):
		return "", ErrUnsupported
	case typ == "":
		return DefaultType(alg), nil
	case typ != store.FullObject && typ != store.Composite:
		return "", s3err.InvalidRequest.WithMessage("Value for x-amz-checksum-type header is invalid.")
	case typ == store.FullObject && !SupportsFullObject(alg):
		return "", s3err.InvalidRequest.WithMessage("The %s checksum algorithm does not support the FULL_OBJECT checksum type.", alg)
	case typ == store.Composite && alg == store.CRC64NVME:
		return "", s3err.InvalidRequest.WithMessage("The CRC64NVME checksum algorithm does not support the COMPOSITE checksum type.")
	}
	return typ, nil
}

// PartSum is a part's checksum value (base64) and size.
type PartSum struct {
	Value string // base64 of the part's checksum in the upload's algorithm
	Size  int64  // the part's length in bytes (used by FULL_OBJECT)
}

// Combine computes a multipart object's checksum from its parts:
//
//   - COMPOSITE: base64(hash(concat(raw part checksums))) + "-" + N;
//   - FULL_OBJECT: the CRC of the whole object, obtained by CRC-combining
//     the parts (no bytes re-read), base64, no suffix. CRCs only.
//
// Errors are *s3err.Error values: InvalidRequest for an unsupported
// algorithm or type, InvalidPart for a part value that is not the base64 of a
// checksum of alg or a negative size, and for an empty parts list.
func Combine(alg, typ string, parts []PartSum) (string, error) {
	size := Size(alg)
	if size == 0 {
		return "", ErrUnsupported
	}
	if len(parts) == 0 {
		return "", s3err.InvalidPart.WithMessage("A multipart checksum needs at least one part.")
	}
	var raw [64]byte
	switch typ {
	case store.Composite:
		h, _ := New(alg)
		for i, p := range parts {
			if err := decodeValue(alg, p.Value, raw[:]); err != nil {
				return "", partErr(i, alg)
			}
			h.Write(raw[:size])
		}
		return base64.StdEncoding.EncodeToString(h.Sum(raw[:0])) + "-" + strconv.Itoa(len(parts)), nil
	case store.FullObject:
		c := crcOf(alg)
		if c == nil {
			return "", s3err.InvalidRequest.WithMessage("The %s checksum algorithm does not support the FULL_OBJECT checksum type.", alg)
		}
		var crc uint64
		for i, p := range parts {
			if p.Size < 0 || decodeValue(alg, p.Value, raw[:]) != nil {
				return "", partErr(i, alg)
			}
			var v uint64
			for _, b := range raw[:size] {
				v = v<<8 | uint64(b)
			}
			if i == 0 {
				crc = v
			} else {
				crc = c.combine(crc, v, p.Size)
			}
		}
		out := raw[:size]
		for i := size - 1; i >= 0; i-- {
			out[i] = byte(crc)
			crc >>= 8
		}
		return base64.StdEncoding.EncodeToString(out), nil
	}
	return "", s3err.InvalidRequest.WithMessage("Value for x-amz-checksum-type header is invalid.")
}

// DecodeValue decodes a base64 checksum value of alg, reporting whether it
// is well-formed (standard padded base64 of exactly Size(alg) bytes). The
// raw bytes are written to dst, which must hold Size(alg) bytes.
func DecodeValue(alg, value string, dst []byte) bool {
	return decodeValue(alg, value, dst) == nil
}

func decodeValue(alg, value string, dst []byte) error {
	size := Size(alg)
	if size == 0 {
		return ErrUnsupported
	}
	if len(value) != base64.StdEncoding.EncodedLen(size) || len(dst) < size {
		return s3err.InvalidDigest
	}
	var buf [64]byte
	n, err := base64.StdEncoding.Strict().Decode(buf[:], []byte(value))
	if err != nil || n != size {
		return s3err.InvalidDigest
	}
	copy(dst, buf[:n])
	return nil
}

func partErr(i int, alg string) error {
	return s3err.InvalidPart.WithMessage("The %s checksum of part %d is not valid.", alg, i+1)
}
