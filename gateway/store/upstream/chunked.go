package upstream

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"
	"github.com/minio/minio-go/v7/pkg/signer"
)

// trailedChunk is the size of the aws-chunked chunks of a body sent with
// its CRC32C as a trailer (minio-go's).
const trailedChunk = 64 << 10

// crcChunked encodes a body of known size as aws-chunked
// (STREAMING-UNSIGNED-PAYLOAD-TRAILER) with its CRC32C in the trailer,
// reading the body straight into the caller's buffer: the chunk sizes
// follow from the size, so no chunk is gathered first. minio-go's encoder
// copies each chunk twice through 64 KiB and 128–192 KiB buffers that a
// stalled upload holds for as long as it stalls; this one holds none, and
// the CRC32C is computed once (by src).
type crcChunked struct {
	src   *crcReader
	left  int64  // body bytes not yet read
	chunk int64  // bytes of the current chunk not yet read
	pend  []byte // framing to write before any more body bytes
	buf   [64]byte
	done  bool // the trailer is framed
}

func newCRCChunked(src *crcReader, size int64) *crcChunked {
	return &crcChunked{src: src, left: size}
}

// trailerLine is the trailer of a CRC32C (its value has a fixed length).
func trailerLine(sum uint32) string {
	return strings.ToLower(crc32cHeader) + ":" + crc32cValue(sum) + "\r\n"
}

// chunkedLength is the encoded length of a body of size bytes.
func chunkedLength(size int64) int64 {
	n := int64(0)
	for left := size; left > 0; left -= trailedChunk {
		c := min(left, trailedChunk)
		n += int64(len(strconv.FormatInt(c, 16))) + 2 + c + 2
	}
	return n + int64(len("0\r\n")+len(trailerLine(0))+len("\r\n"))
}

// Read fills p while the body has bytes ready, and returns as soon as a
// read of the body comes back short (it has no more at once): bytes read
// are handed over, never held while more are waited for.
func (e *crcChunked) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if len(e.pend) > 0 {
			c := copy(p[n:], e.pend)
			e.pend, n = e.pend[c:], n+c
			continue
		}
		switch {
		case e.chunk > 0:
			want := int(min(int64(len(p)-n), e.chunk))
			m, err := e.src.Read(p[n : n+want])
			e.chunk, e.left, n = e.chunk-int64(m), e.left-int64(m), n+m
			if e.chunk == 0 {
				e.pend = append(e.buf[:0], "\r\n"...)
			}
			if err == io.EOF {
				if e.chunk > 0 {
					return n, io.ErrUnexpectedEOF
				}
				err = nil
			}
			if err != nil || m < want {
				return n, err
			}
		case e.left > 0:
			e.chunk = min(e.left, trailedChunk)
			e.pend = append(strconv.AppendInt(e.buf[:0], e.chunk, 16), "\r\n"...)
		case n > 0:
			return n, nil // the bytes first, then the body's end
		case !e.done:
			// The body's end: src must report it (the gateway's reader
			// returns its verification error there).
			if m, err := e.src.Read(e.buf[:1]); m > 0 {
				return 0, errors.New("upstream: body longer than declared")
			} else if err != io.EOF {
				if err == nil {
					err = io.ErrNoProgress
				}
				return 0, err
			}
			e.done = true
			e.pend = append(append(append(e.buf[:0], "0\r\n"...), trailerLine(e.src.sum)...), "\r\n"...)
		default:
			return 0, io.EOF
		}
	}
	return n, nil
}

// putTrailed sends body (size bytes) to the upstream key name in one PUT
// (query: none for an object, partNumber and uploadId for a part), with
// its CRC32C as a trailer, and returns the answer's header. It does what
// minio-go's PutObject does with a trailing checksum, without its
// buffers. Failures are minio.ErrorResponse values, as minio-go's.
func (s *Store) putTrailed(ctx context.Context, name string, query url.Values, hdr http.Header, body *crcReader, size int64) (http.Header, error) {
	u, err := url.Parse(s.cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	target := u.Scheme + "://" + u.Host + "/" + s.bucket + "/" + s3utils.EncodePath(name)
	if len(query) > 0 {
		target += "?" + s3utils.QueryEncode(query)
	}
	enc := newCRCChunked(body, size)
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, target, enc)
	if err != nil {
		return nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.ContentLength = chunkedLength(size)
	req.Header.Set("Content-Encoding", "aws-chunked")
	req.Header.Set("X-Amz-Content-Sha256", "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
	req.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(size, 10))
	req.Header.Set("X-Amz-Trailer", strings.ToLower(crc32cHeader))
	req = signer.SignV4(*req, s.cfg.AccessKey, s.cfg.SecretKey, "", s.cfg.Region)
	resp, err := s.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, answerErr(resp)
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	return resp.Header, nil
}

// putTrailedPart is putTrailed for part number of upload uploadID.
func (s *Store) putTrailedPart(ctx context.Context, name, uploadID string, number int, body *crcReader, size int64) (minio.ObjectPart, error) {
	q := url.Values{"partNumber": {strconv.Itoa(number)}, "uploadId": {uploadID}}
	h, err := s.putTrailed(ctx, name, q, nil, body, size)
	if err != nil {
		return minio.ObjectPart{}, err
	}
	return minio.ObjectPart{PartNumber: number, Size: size, ETag: strings.Trim(h.Get("ETag"), `"`),
		ChecksumCRC32C: h.Get(crc32cHeader)}, nil
}

// answerErr reads an S3 error answer into a minio.ErrorResponse.
func answerErr(resp *http.Response) error {
	e := minio.ErrorResponse{StatusCode: resp.StatusCode}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&e); err != nil || e.Code == "" {
		e.Code = strings.ReplaceAll(http.StatusText(resp.StatusCode), " ", "")
		e.Message = resp.Status
	}
	e.Server = resp.Header.Get("Server")
	return e
}
