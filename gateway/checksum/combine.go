package checksum

import "github.com/lambda/storagecli/gateway/store"

// crcParams describes a reflected CRC whose init value equals its final xor
// (all three S3 CRCs: all ones), for which
//
//	crc(A||B) = crc(A)·x^(8·len(B)) mod P  xor  crc(B)
//
// in the GF(2) polynomial arithmetic of zlib's crc32_combine, generalised to
// widths up to 64 bits.
type crcParams struct {
	poly uint64 // reflected polynomial
	top  uint64 // the bit holding x^0 in the reflected representation
	// x2n[k] = x^(2^k) mod P, for k up to the largest power a combine of an
	// int64 length in bytes (8·2^63 = 2^66 bits) can need.
	x2n [67]uint64
}

var (
	crc32Params     = newCRCParams(polyCRC32, 32)
	crc32cParams    = newCRCParams(polyCRC32C, 32)
	crc64nvmeParams = newCRCParams(polyCRC64NVME, 64)
)

func crcOf(alg string) *crcParams {
	switch alg {
	case store.CRC32:
		return crc32Params
	case store.CRC32C:
		return crc32cParams
	case store.CRC64NVME:
		return crc64nvmeParams
	}
	return nil
}

func newCRCParams(poly uint64, width uint) *crcParams {
	c := &crcParams{poly: poly, top: 1 << (width - 1)}
	p := c.top >> 1 // x^1
	c.x2n[0] = p
	for k := 1; k < len(c.x2n); k++ {
		p = c.multmodp(p, p)
		c.x2n[k] = p
	}
	return c
}

// multmodp returns a(x)·b(x) mod P, both reflected.
func (c *crcParams) multmodp(a, b uint64) uint64 {
	var p uint64
	for m := c.top; m != 0; m >>= 1 {
		if a&m != 0 {
			p ^= b
			if a&(m-1) == 0 {
				break
			}
		}
		if b&1 != 0 {
			b = b>>1 ^ c.poly
		} else {
			b >>= 1
		}
	}
	return p
}

// xpow8n returns x^(8·n) mod P.
func (c *crcParams) xpow8n(n uint64) uint64 {
	p := c.top // x^0
	for k := 3; n != 0; k, n = k+1, n>>1 {
		if n&1 != 0 {
			p = c.multmodp(c.x2n[k], p)
		}
	}
	return p
}

// combine returns the CRC of A||B from crc1 = CRC(A), crc2 = CRC(B) and
// len2 = len(B).
func (c *crcParams) combine(crc1, crc2 uint64, len2 int64) uint64 {
	if len2 <= 0 {
		return crc1 // CRC(empty) is 0 for init == xorout
	}
	return c.multmodp(c.xpow8n(uint64(len2)), crc1) ^ crc2
}
