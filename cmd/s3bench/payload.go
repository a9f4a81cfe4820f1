package main

// How request bodies are sent (--payload).
//
// aws-sdk-go-v2 only knows two ways to send a body over plain http: the
// SHA-256 of the whole body in X-Amz-Content-Sha256 ("signed", the SDK's
// default; it reads the body twice), or UNSIGNED-PAYLOAD. It never sends
// STREAMING-AWS4-HMAC-SHA256-PAYLOAD (signed aws-chunked bodies, what
// minio-go and the AWS Java SDK v1 send over http). For "chunked" this file
// adds two middlewares to the SDK's stack:
//
//   - before the SDK computes the payload hash: X-Amz-Content-Sha256 becomes
//     STREAMING-AWS4-HMAC-SHA256-PAYLOAD, Content-Encoding aws-chunked,
//     X-Amz-Decoded-Content-Length the body's length and Content-Length the
//     framed length, so the SDK's own SigV4 signer signs the seed request
//     with them;
//   - after the SDK signed it: the body is replaced by the aws-chunked
//     encoder, which chains each chunk's signature from the seed signature
//     read back from the Authorization header (the algorithm of
//     https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
//     checked against that page's example in payload_test.go).
//
// Everything else (endpoint, signing of the seed, retries, HTTP) is the SDK.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"strconv"
	"strings"
	"sync"

	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// Payload modes.
const (
	payloadUnsigned = "unsigned" // UNSIGNED-PAYLOAD
	payloadSigned   = "signed"   // hex SHA-256 of the whole body (the SDK computes it)
	payloadChunked  = "chunked"  // STREAMING-AWS4-HMAC-SHA256-PAYLOAD
	payloadTrailer  = "trailer"  // STREAMING-UNSIGNED-PAYLOAD-TRAILER with a CRC32 trailer (the aws cli's default)
)

const (
	streamingSigned  = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
	streamingTrailer = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
	trailerName      = "x-amz-checksum-crc32"
	emptySHA256      = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	sigLen           = 64 // hex HMAC-SHA256
)

// bodyOps are the operations whose body the payload mode applies to.
var bodyOps = map[string]bool{"PutObject": true, "UploadPart": true}

// payloadOption returns the s3.Options.APIOptions entry for mode.
func payloadOption(mode string, secretKey string, chunkSize int) func(*middleware.Stack) error {
	return func(stack *middleware.Stack) error {
		if _, ok := stack.Finalize.Get("ComputePayloadHash"); !ok {
			return nil
		}
		before := middleware.FinalizeMiddlewareFunc("s3benchPayload", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req, ok := in.Request.(*smithyhttp.Request)
			if !ok || !bodyOps[middleware.GetOperationName(ctx)] {
				return next.HandleFinalize(ctx, in)
			}
			switch mode {
			case payloadUnsigned:
				ctx = v4.SetPayloadHash(ctx, "UNSIGNED-PAYLOAD")
			case payloadSigned:
				// Over http the SDK hashes the body itself; over https it
				// would send UNSIGNED-PAYLOAD, so hash it here.
				if req.IsHTTPS() {
					h, err := hashStream(req)
					if err != nil {
						return middleware.FinalizeOutput{}, middleware.Metadata{}, err
					}
					ctx = v4.SetPayloadHash(ctx, h)
				}
			case payloadChunked, payloadTrailer:
				n := req.ContentLength
				if n < 0 {
					return middleware.FinalizeOutput{}, middleware.Metadata{}, fmt.Errorf("%s payload: unknown body length", mode)
				}
				req.Header.Set("Content-Encoding", "aws-chunked")
				req.Header.Set("X-Amz-Decoded-Content-Length", strconv.FormatInt(n, 10))
				if mode == payloadTrailer {
					ctx = v4.SetPayloadHash(ctx, streamingTrailer)
					req.Header.Set("X-Amz-Trailer", trailerName)
					req.ContentLength = trailerLength(n, chunkSize)
				} else {
					ctx = v4.SetPayloadHash(ctx, streamingSigned)
					req.ContentLength = chunkedLength(n, chunkSize)
				}
			}
			return next.HandleFinalize(ctx, in)
		})
		if err := stack.Finalize.Insert(before, "ComputePayloadHash", middleware.Before); err != nil {
			return err
		}
		if mode != payloadChunked && mode != payloadTrailer {
			return nil
		}
		after := middleware.FinalizeMiddlewareFunc("s3benchChunkedBody", func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
			req, ok := in.Request.(*smithyhttp.Request)
			if !ok {
				return next.HandleFinalize(ctx, in)
			}
			var enc io.Reader
			var err error
			switch req.Header.Get("X-Amz-Content-Sha256") {
			case streamingSigned:
				enc, err = newChunkEncoder(req, secretKey, chunkSize)
			case streamingTrailer:
				enc = newTrailerEncoder(req, chunkSize)
			default:
				return next.HandleFinalize(ctx, in)
			}
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			length := req.ContentLength
			r, err := req.SetStream(enc)
			if err != nil {
				return middleware.FinalizeOutput{}, middleware.Metadata{}, err
			}
			r.ContentLength = length
			in.Request = r
			return next.HandleFinalize(ctx, in)
		})
		return stack.Finalize.Insert(after, "Signing", middleware.After)
	}
}

func hashStream(req *smithyhttp.Request) (string, error) {
	h := sha256.New()
	if s := req.GetStream(); s != nil {
		if _, err := io.Copy(h, s); err != nil {
			return "", err
		}
		if err := req.RewindStream(); err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// chunkedLength is the aws-chunked framed length of n body bytes.
func chunkedLength(n int64, chunkSize int) int64 {
	frame := func(size int64) int64 {
		// hex-size ";chunk-signature=" sig "\r\n" data "\r\n"
		return int64(len(strconv.FormatInt(size, 16))) + int64(len(";chunk-signature=")) + sigLen + 2 + size + 2
	}
	cs := int64(chunkSize)
	total := (n / cs) * frame(cs)
	if rem := n % cs; rem > 0 {
		total += frame(rem)
	}
	return total + frame(0)
}

// chunkSigner chains chunk signatures.
type chunkSigner struct {
	key     []byte // SigV4 signing key of the scope
	amzDate string
	scope   string
	prev    string // previous signature (hex); the seed at first
	sts     []byte
}

func (s *chunkSigner) sign(data []byte) string {
	sum := sha256.Sum256(data)
	s.sts = s.sts[:0]
	s.sts = append(s.sts, "AWS4-HMAC-SHA256-PAYLOAD\n"...)
	s.sts = append(s.sts, s.amzDate...)
	s.sts = append(s.sts, '\n')
	s.sts = append(s.sts, s.scope...)
	s.sts = append(s.sts, '\n')
	s.sts = append(s.sts, s.prev...)
	s.sts = append(s.sts, "\n"+emptySHA256+"\n"...)
	s.sts = hex.AppendEncode(s.sts, sum[:])
	m := hmac.New(sha256.New, s.key)
	m.Write(s.sts)
	s.prev = hex.EncodeToString(m.Sum(nil))
	return s.prev
}

var signingKeys sync.Map // "secret\x00scope" -> []byte

// signingKey derives the SigV4 key of scope date/region/service/aws4_request.
func signingKey(secret, scope string) ([]byte, error) {
	ck := secret + "\x00" + scope
	if k, ok := signingKeys.Load(ck); ok {
		return k.([]byte), nil
	}
	parts := strings.Split(scope, "/")
	if len(parts) != 4 || parts[3] != "aws4_request" {
		return nil, fmt.Errorf("chunked payload: bad credential scope %q", scope)
	}
	k := []byte("AWS4" + secret)
	for _, p := range parts {
		m := hmac.New(sha256.New, k)
		m.Write([]byte(p))
		k = m.Sum(nil)
	}
	signingKeys.Store(ck, k)
	return k, nil
}

// chunkEncoder frames a body as signed aws-chunked.
type chunkEncoder struct {
	src       io.Reader
	signer    chunkSigner
	chunkSize int
	buf       []byte // one framed chunk
	out       []byte // unread part of buf
	done      bool
}

// hdrRoom is the room for a chunk header: hex size + ";chunk-signature=" +
// signature + "\r\n".
const hdrRoom = 96

func newChunkEncoder(req *smithyhttp.Request, secret string, chunkSize int) (*chunkEncoder, error) {
	auth := req.Header.Get("Authorization")
	_, cred, ok := strings.Cut(auth, "Credential=")
	if !ok {
		return nil, fmt.Errorf("chunked payload: no credential in Authorization %q", auth)
	}
	cred, _, _ = strings.Cut(cred, ",")
	_, scope, ok := strings.Cut(cred, "/")
	if !ok {
		return nil, fmt.Errorf("chunked payload: bad credential %q", cred)
	}
	_, seed, ok := strings.Cut(auth, "Signature=")
	if !ok || len(seed) < sigLen {
		return nil, fmt.Errorf("chunked payload: no signature in Authorization %q", auth)
	}
	key, err := signingKey(secret, scope)
	if err != nil {
		return nil, err
	}
	src := req.GetStream()
	if src == nil {
		src = bytes.NewReader(nil)
	}
	// The buffer is not pooled: the transport may still be reading the body
	// when the response (an early error) is already back.
	size := int64(chunkSize)
	if n, err := strconv.ParseInt(req.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64); err == nil && n < size {
		size = n
	}
	return &chunkEncoder{src: src, chunkSize: chunkSize, buf: make([]byte, hdrRoom+size+2),
		signer: chunkSigner{key: key, amzDate: req.Header.Get("X-Amz-Date"), scope: scope, prev: seed[:sigLen]}}, nil
}

func (e *chunkEncoder) Read(p []byte) (int, error) {
	if len(e.out) == 0 {
		if e.done {
			return 0, io.EOF
		}
		if err := e.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// fill frames the next chunk (the final empty chunk at the end of src).
func (e *chunkEncoder) fill() error {
	b := e.buf
	n, err := io.ReadFull(e.src, b[hdrRoom:len(b)-2])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	data := b[hdrRoom : hdrRoom+n]
	sig := e.signer.sign(data)
	hdr := strconv.AppendInt(b[:0:hdrRoom], int64(n), 16)
	hdr = append(hdr, ";chunk-signature="...)
	hdr = append(hdr, sig...)
	hdr = append(hdr, "\r\n"...)
	start := hdrRoom - len(hdr)
	copy(b[start:], hdr)
	end := hdrRoom + n
	b[end], b[end+1] = '\r', '\n'
	e.out = b[start : end+2]
	if n == 0 {
		e.done = true
	}
	return nil
}

// trailerLength is the framed length of n body bytes in
// STREAMING-UNSIGNED-PAYLOAD-TRAILER chunks with the CRC32 trailer.
func trailerLength(n int64, chunkSize int) int64 {
	frame := func(size int64) int64 { // hex-size "\r\n" data "\r\n"
		return int64(len(strconv.FormatInt(size, 16))) + 2 + size + 2
	}
	cs := int64(chunkSize)
	total := (n / cs) * frame(cs)
	if rem := n % cs; rem > 0 {
		total += frame(rem)
	}
	// "0\r\n" x-amz-checksum-crc32:<8 base64 digits>"\r\n" "\r\n"
	return total + 3 + int64(len(trailerName)) + 1 + 8 + 2 + 2
}

// trailerEncoder frames a body as unsigned aws-chunked with a CRC32
// trailer, as the aws cli (botocore) sends it.
type trailerEncoder struct {
	src       io.Reader
	crc       hash.Hash32
	chunkSize int
	buf       []byte
	out       []byte
	done      bool
}

// trailerHdrRoom is the room for a chunk header: hex size + "\r\n".
const trailerHdrRoom = 16

func newTrailerEncoder(req *smithyhttp.Request, chunkSize int) *trailerEncoder {
	src := req.GetStream()
	if src == nil {
		src = bytes.NewReader(nil)
	}
	size := int64(chunkSize)
	if n, err := strconv.ParseInt(req.Header.Get("X-Amz-Decoded-Content-Length"), 10, 64); err == nil && n < size {
		size = n
	}
	// Not pooled, as chunkEncoder's; room for the trailer after the last chunk.
	return &trailerEncoder{src: src, crc: crc32.NewIEEE(), chunkSize: chunkSize,
		buf: make([]byte, trailerHdrRoom+max(size+2, 64))}
}

func (e *trailerEncoder) Read(p []byte) (int, error) {
	if len(e.out) == 0 {
		if e.done {
			return 0, io.EOF
		}
		if err := e.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, e.out)
	e.out = e.out[n:]
	return n, nil
}

// fill frames the next chunk, or the final chunk and the trailer.
func (e *trailerEncoder) fill() error {
	b := e.buf
	want := min(len(b)-trailerHdrRoom-2, e.chunkSize)
	n, err := io.ReadFull(e.src, b[trailerHdrRoom:trailerHdrRoom+want])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return err
	}
	if n == 0 {
		out := append(b[:0], "0\r\n"+trailerName+":"...)
		out = base64.StdEncoding.AppendEncode(out, e.crc.Sum(nil))
		e.out = append(out, "\r\n\r\n"...)
		e.done = true
		return nil
	}
	data := b[trailerHdrRoom : trailerHdrRoom+n]
	e.crc.Write(data)
	hdr := strconv.AppendInt(b[:0:trailerHdrRoom], int64(n), 16)
	hdr = append(hdr, "\r\n"...)
	start := trailerHdrRoom - len(hdr)
	copy(b[start:], hdr)
	end := trailerHdrRoom + n
	b[end], b[end+1] = '\r', '\n'
	e.out = b[start : end+2]
	return nil
}
