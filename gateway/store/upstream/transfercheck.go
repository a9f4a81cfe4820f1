package upstream

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
)

// Transfer checks: how the Store makes sure the upstream stored the bytes
// the gateway verified (Config.TransferCheck).
const (
	// checkCRC32C sends each body's CRC32C for the upstream to check: a
	// header on buffered bodies, a trailer on streamed ones.
	checkCRC32C = "crc32c"
	// checkMD5 has the gateway hash each body with MD5 and compares the
	// upstream's ETag with it (upstreams without trailing checksums; their
	// ETags must be MD5s).
	checkMD5 = "md5"
	// checkNone trusts the connection (TLS authenticates every byte).
	checkNone = "none"
)

// resolveCheck returns the transfer check configured as v for an upstream
// reached over scheme: "" is none over https, crc32c over http.
func resolveCheck(v, scheme string) (string, error) {
	switch v {
	case "":
		if scheme == "https" {
			return checkNone, nil
		}
		return checkCRC32C, nil
	case checkCRC32C, checkMD5, checkNone:
		return v, nil
	}
	return "", fmt.Errorf("upstream: transfer_check %q: want crc32c, md5 or none", v)
}

// MakesETags reports that objects take the ETag the upstream answers
// (every transfer check but md5), so the gateway need not hash bodies
// with MD5; see store.ETagMaker.
func (s *Store) MakesETags() bool { return s.check != checkMD5 }

// crc32cHeader is the header or trailer that carries a CRC32C.
const crc32cHeader = "X-Amz-Checksum-Crc32c"

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// crc32cValue is the x-amz-checksum-crc32c value of a CRC32C.
func crc32cValue(sum uint32) string {
	var b [4]byte
	binary.BigEndian.PutUint32(b[:], sum)
	return base64.StdEncoding.EncodeToString(b[:])
}

// crcReader passes a body through and, at its end, sets its CRC32C in
// trailer (which the upstream request sends after the body).
type crcReader struct {
	r       io.Reader
	sum     uint32
	trailer http.Header
}

// withCRCTrailer returns r counted into a CRC32C and the trailer that will
// carry it (set to a placeholder of the same length until r's end).
func withCRCTrailer(r io.Reader) (*crcReader, http.Header) {
	t := http.Header{crc32cHeader: {crc32cValue(0)}}
	return &crcReader{r: r, trailer: t}, t
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.sum = crc32.Update(c.sum, castagnoli, p[:n])
	if err == io.EOF {
		c.trailer.Set(crc32cHeader, crc32cValue(c.sum))
	}
	return n, err
}
