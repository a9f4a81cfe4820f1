package upstream

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/lambda/storagecli/gateway/store"
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

// errNoMD5 refuses a write without the body's MD5 under the md5 check (the
// gateway computes it for a store that does not make its ETags).
var errNoMD5 = errors.New("upstream: transfer_check md5 without the body's MD5")

// needMD5 fails a write that the md5 check cannot verify.
func (s *Store) needMD5(sums store.Sums) error {
	if s.check == checkMD5 && sums.MD5 == nil {
		return errNoMD5
	}
	return nil
}

// storedETag returns the ETag of what the upstream stored, from its answer
// to the write: with the md5 check it must be the MD5 of the body the
// gateway verified (md5Sum, which the gateway always computes then).
func (s *Store) storedETag(answered string, md5Sum []byte) (string, error) {
	got := trimETag(answered)
	if s.check != checkMD5 {
		return got, nil
	}
	if md5Sum == nil {
		return "", errNoMD5
	}
	if want := hex.EncodeToString(md5Sum); got != want {
		return "", fmt.Errorf("upstream: stored ETag %s, want the body's MD5 %s", got, want)
	}
	return got, nil
}

// confirmCRC checks the x-amz-checksum-crc32c the upstream answered to a
// write with the CRC32C of the bytes sent. required says the CRC32C went
// as a trailer: an upstream that answers none did not check it (and may
// not even have decoded the aws-chunked body), so the write is not
// trusted. A CRC32C sent as a header may be ignored by older upstreams;
// the bytes went as they are.
func confirmCRC(answered string, sent uint32, required bool) error {
	switch {
	case answered == "" && required:
		return errors.New("upstream: the upstream did not confirm the body's CRC32C (does it take trailing checksums? see transfer_check)")
	case answered != "" && answered != crc32cValue(sent):
		return fmt.Errorf("upstream: the upstream stored CRC32C %s, the gateway sent %s", answered, crc32cValue(sent))
	}
	return nil
}

// crcReader passes a body through, counting its CRC32C.
type crcReader struct {
	r   io.Reader
	sum uint32
}

func (c *crcReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.sum = crc32.Update(c.sum, castagnoli, p[:n])
	return n, err
}
