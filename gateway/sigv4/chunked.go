package sigv4

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"net/http"
	"net/textproto"
	"sync"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Limits that keep a hostile client from making the decoder buffer.
const (
	chunkBufSize   = 16 << 10 // bufio buffer (held by a stalled upload)
	maxLineLen     = 4 << 10  // a chunk-size line or a trailer line
	maxChunkSize   = 5 << 30  // one chunk
	maxTrailerSize = 16 << 10 // all trailer lines together
)

// Chunks of at least largeChunk bytes are read mostly straight into the
// caller's buffer: before the next header the buffer is filled with at most
// headerFill bytes, so only those bytes of data are copied through it.
// Smaller chunks are read through the whole buffer, one read for many.
const (
	largeChunk = 16 << 10
	headerFill = 1 << 10
)

var (
	errIncomplete    = s3err.IncompleteBody.WithMessage("The request body ended before the aws-chunked encoding was complete.")
	errChunkSig      = errSignature.WithMessage("The chunk signature we calculated does not match the chunk-signature you provided.")
	errTrailerSig    = errSignature.WithMessage("The trailer signature we calculated does not match the x-amz-trailer-signature you provided.")
	errNotStreaming  = s3err.InternalError.WithMessage("sigv4: NewChunkedReader used on a request whose payload is not aws-chunked.")
	errDecodedLength = s3err.IncompleteBody.WithMessage("The decoded body length does not match x-amz-decoded-content-length.")
)

// minChunkSize is the least size of a chunk other than the last data
// chunk (S3 answers InvalidChunkSizeError below it). A variable so that
// framing tests can use small chunks.
var minChunkSize int64 = 8 << 10

// malformedChunk is a framing error of the chunks: the body S3 expects did
// not arrive (IncompleteBody, as S3 answers a body it cannot decode).
func malformedChunk(what string) *s3err.Error {
	return s3err.IncompleteBody.WithMessage("Malformed aws-chunked encoding: %s.", what)
}

// malformedTrailer is a framing error of the trailing headers.
func malformedTrailer(what string) *s3err.Error {
	return s3err.MalformedTrailer.WithMessage("The request contained trailing data that was not well-formed (%s).", what)
}

const (
	stHeader   = iota // next: a chunk-size line
	stData            // inside chunk data
	stDataEnd         // next: the CRLF after chunk data
	stFinalEnd        // next: the empty line ending a trailer-less body
	stTrailer         // next: trailer lines
	stDone            // io.EOF
)

var (
	emptyHashLine = []byte("\n" + emptySHA256 + "\n")
	newline       = []byte("\n")
	trailerSigKey = []byte("x-amz-trailer-signature")
	bufPool       = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, chunkBufSize) }}
)

// ChunkedReader decodes an aws-chunked request body, verifying every chunk
// signature and the trailer signature as the data streams through. Any
// verification or framing error is returned before io.EOF, so a consumer
// that aborts on error never commits a forged body.
type ChunkedReader struct {
	br        *bufio.Reader // over src
	src       cappedReader  // the body
	mode      string        // one of the Streaming* payload modes
	signed    bool          // chunks carry chunk-signature
	state     int
	remaining int64 // bytes left in the current chunk
	short     bool  // the last data chunk was under minChunkSize
	total     int64 // decoded bytes so far
	declared  int64 // x-amz-decoded-content-length or -1
	err       error

	sha           hash.Hash // chunk data (and trailer) hash
	mac           hash.Hash // HMAC with the signing key
	chunkPrefix   []byte    // "AWS4-HMAC-SHA256-PAYLOAD\n<date>\n<scope>\n"
	trailerPrefix []byte    // "AWS4-HMAC-SHA256-TRAILER\n<date>\n<scope>\n"
	prev          [64]byte  // hex of the previous signature in the chain
	want          [32]byte  // signature sent for the current chunk
	sum           [32]byte
	hexSum        [64]byte

	trailer http.Header
}

// NewChunkedReader returns a reader of the decoded body of an aws-chunked
// request authenticated as a. It strips the framing, verifies every chunk
// signature (chained from the request's seed signature) in the signed modes,
// parses the trailing headers and, for StreamingSignedTrailer, verifies the
// trailer signature. If x-amz-decoded-content-length was sent, the decoded
// length must match it. Errors are *s3err.Error values.
func NewChunkedReader(body io.Reader, a *Auth) *ChunkedReader {
	c := &ChunkedReader{declared: -1}
	if a == nil || !a.Streaming() {
		c.err = errNotStreaming
		return c
	}
	c.mode = a.PayloadHash
	c.declared = a.decodedLen
	c.src.r = body
	c.br = bufPool.Get().(*bufio.Reader)
	c.br.Reset(&c.src)
	if c.mode != StreamingUnsignedTrailer {
		c.signed = true
		c.sha = sha256.New()
		c.mac = hmac.New(sha256.New, a.signingKey[:])
		tail := a.amzDate + "\n" + a.scope + "\n"
		c.chunkPrefix = []byte("AWS4-HMAC-SHA256-PAYLOAD\n" + tail)
		if c.mode == StreamingSignedTrailer {
			c.trailerPrefix = []byte("AWS4-HMAC-SHA256-TRAILER\n" + tail)
		}
		hex.Encode(c.prev[:], a.seed[:])
	}
	return c
}

// Read reads decoded body bytes. It returns io.EOF only after the whole
// encoding, including the final chunk and the trailer, has been read and
// verified.
func (c *ChunkedReader) Read(p []byte) (int, error) {
	for {
		if c.err != nil {
			return 0, c.err
		}
		switch c.state {
		case stData:
			if len(p) == 0 {
				return 0, nil
			}
			if int64(len(p)) > c.remaining {
				p = p[:c.remaining]
			}
			var n int
			var err error
			if c.br.Buffered() == 0 {
				n, err = c.src.r.Read(p) // no copy through the buffer
			} else {
				n, err = c.br.Read(p)
			}
			if n > 0 {
				c.remaining -= int64(n)
				c.total += int64(n)
				if c.signed {
					c.sha.Write(p[:n])
				}
				if c.remaining == 0 {
					c.state = stDataEnd
					if c.signed && !c.verifyChunk() {
						// The last bytes of a forged chunk are withheld.
						return 0, c.fail(errChunkSig)
					}
				}
				return n, nil
			}
			if err != nil {
				return 0, c.fail(bodyErr(err))
			}
			return 0, nil
		case stHeader:
			if len(p) == 0 {
				return 0, nil
			}
			if err := c.readChunkHeader(); err != nil {
				return 0, c.fail(err)
			}
		case stDataEnd, stFinalEnd:
			line, err := c.readLine()
			if err != nil {
				return 0, c.fail(err)
			}
			if len(line) != 0 {
				return 0, c.fail(malformedChunk("chunk data is not followed by CRLF"))
			}
			if c.state == stFinalEnd {
				c.finish()
			} else {
				c.state = stHeader
			}
		case stTrailer:
			if err := c.readTrailer(); err != nil {
				return 0, c.fail(err)
			}
			c.finish()
		case stDone:
			return 0, io.EOF
		}
	}
}

// Trailer returns the trailing headers, with canonical keys such as
// "X-Amz-Checksum-Crc32" (the trailer signature itself is not included). It
// is valid only after Read returned io.EOF; before that it returns nil.
func (c *ChunkedReader) Trailer() http.Header {
	if c.state != stDone || c.err != nil {
		return nil
	}
	if c.trailer == nil {
		c.trailer = http.Header{}
	}
	return c.trailer
}

func (c *ChunkedReader) fail(err error) error {
	c.err = err
	c.release()
	return err
}

func (c *ChunkedReader) finish() {
	c.state = stDone
	c.release()
}

// release returns the buffer to the pool once no more reads will use it.
func (c *ChunkedReader) release() {
	if c.br != nil {
		c.br.Reset(nil)
		bufPool.Put(c.br)
		c.br = nil
	}
}

// readLine returns the next line without its "\n" or "\r\n". A line longer
// than maxLineLen is a framing error; end of input is IncompleteBody.
func (c *ChunkedReader) readLine() ([]byte, error) {
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		if err == bufio.ErrBufferFull {
			return nil, malformedChunk("line too long")
		}
		return nil, bodyErr(err)
	}
	if len(line) > maxLineLen {
		return nil, malformedChunk("line too long")
	}
	line = line[:len(line)-1]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, nil
}

// readChunkHeader parses "hex-size;chunk-signature=sig" (or "hex-size" in the
// unsigned mode) and, for the final zero-size chunk, verifies it and moves on
// to the end of the body.
func (c *ChunkedReader) readChunkHeader() error {
	line, err := c.readLine()
	if err != nil {
		return err
	}
	var size int64
	i := 0
	for ; i < len(line); i++ {
		d, ok := unhex(line[i])
		if !ok {
			break
		}
		size = size<<4 | int64(d)
		if size > maxChunkSize {
			return malformedChunk("chunk size too large")
		}
	}
	if i == 0 {
		return malformedChunk("missing chunk size")
	}
	ext := line[i:]
	if c.signed {
		const prefix = ";chunk-signature="
		if len(ext) != len(prefix)+64 || string(ext[:len(prefix)]) != prefix {
			return malformedChunk("expected ;chunk-signature=<signature>")
		}
		if _, err := hex.Decode(c.want[:], ext[len(prefix):]); err != nil {
			return malformedChunk("invalid chunk signature")
		}
	} else if len(ext) > 0 && ext[0] != ';' {
		return malformedChunk("invalid chunk size")
	}
	if c.declared >= 0 && c.total+size > c.declared {
		return errDecodedLength
	}
	if size > 0 {
		// Only the last data chunk may be small (S3's rule, in the
		// unsigned trailer mode too; SDKs send 64 KiB chunks or more).
		if c.short {
			return s3err.InvalidChunkSize
		}
		c.short = size < minChunkSize
		c.remaining = size
		c.state = stData
		c.src.max = 0
		if size >= largeChunk {
			c.src.max = headerFill // for the next header
		}
		return nil
	}
	// The final chunk: its signature covers the empty string.
	if c.signed && !c.verifyChunk() {
		return errChunkSig
	}
	if c.declared >= 0 && c.total != c.declared {
		return errDecodedLength
	}
	if c.mode == StreamingSigned {
		c.state = stFinalEnd
	} else {
		c.state = stTrailer
	}
	return nil
}

// verifyChunk checks c.want against the signature of the data hashed in
// c.sha, and advances the chain.
func (c *ChunkedReader) verifyChunk() bool {
	c.sha.Sum(c.sum[:0])
	c.sha.Reset()
	hex.Encode(c.hexSum[:], c.sum[:])
	c.mac.Reset()
	c.mac.Write(c.chunkPrefix)
	c.mac.Write(c.prev[:])
	c.mac.Write(emptyHashLine)
	c.mac.Write(c.hexSum[:])
	return c.endLink()
}

// endLink finishes the HMAC in c.mac, compares it with c.want in constant
// time and makes it the previous signature.
func (c *ChunkedReader) endLink() bool {
	c.mac.Sum(c.sum[:0])
	ok := subtle.ConstantTimeCompare(c.sum[:], c.want[:]) == 1
	hex.Encode(c.prev[:], c.sum[:])
	return ok
}

// readTrailer reads "name:value" lines up to the empty line that ends the
// body. In the signed-trailer mode it requires x-amz-trailer-signature and
// verifies it over the other lines, each hashed as sent plus "\n". Empty
// lines before the signature are skipped (minio-go sends one).
func (c *ChunkedReader) readTrailer() error {
	signed := c.mode == StreamingSignedTrailer
	gotSig := false
	size := 0
	for {
		line, err := c.readLine()
		if err != nil {
			return err
		}
		size += len(line) + 2
		if size > maxTrailerSize {
			return malformedTrailer("trailer too large")
		}
		if len(line) == 0 {
			if !signed || gotSig {
				break
			}
			continue
		}
		name, value, ok := bytes.Cut(line, []byte{':'})
		name = bytes.TrimSpace(name)
		if !ok || len(name) == 0 {
			return malformedTrailer("invalid trailer line")
		}
		if bytes.EqualFold(name, trailerSigKey) {
			if !signed {
				continue // nothing to verify it with in the unsigned mode
			}
			if gotSig {
				return malformedTrailer("duplicate x-amz-trailer-signature")
			}
			v := bytes.TrimSpace(value)
			if len(v) != 64 {
				return malformedTrailer("invalid x-amz-trailer-signature")
			}
			if _, err := hex.Decode(c.want[:], v); err != nil {
				return malformedTrailer("invalid x-amz-trailer-signature")
			}
			gotSig = true
			continue
		}
		if signed {
			c.sha.Write(line)
			c.sha.Write(newline)
		}
		if c.trailer == nil {
			c.trailer = http.Header{}
		}
		key := textproto.CanonicalMIMEHeaderKey(string(name))
		c.trailer[key] = append(c.trailer[key], string(bytes.TrimSpace(value)))
	}
	if signed {
		c.sha.Sum(c.sum[:0])
		c.sha.Reset()
		hex.Encode(c.hexSum[:], c.sum[:])
		c.mac.Reset()
		c.mac.Write(c.trailerPrefix)
		c.mac.Write(c.prev[:])
		c.mac.Write(newline)
		c.mac.Write(c.hexSum[:])
		if !c.endLink() {
			return errTrailerSig
		}
	}
	return nil
}

// cappedReader reads from r at most max bytes at a time (0: no limit).
type cappedReader struct {
	r   io.Reader
	max int
}

func (c *cappedReader) Read(p []byte) (int, error) {
	if c.max > 0 && len(p) > c.max {
		p = p[:c.max]
	}
	return c.r.Read(p)
}

// bodyErr maps an error from the underlying body to an *s3err.Error: its
// end before the final chunk is an incomplete body.
func bodyErr(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return errIncomplete
	}
	return s3err.FromBodyRead(err)
}
