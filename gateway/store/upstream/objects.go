package upstream

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/store"
)

// putOpts are the upstream options of an object write.
func putOpts(b *blob, cond store.Conditions) minio.PutObjectOptions {
	o := minio.PutObjectOptions{
		ContentType:  b.Meta.ContentType,
		UserMetadata: map[string]string{metaKey: b.encode()},
		// UNSIGNED-PAYLOAD: the gateway has verified the body itself;
		// the transfer check (transfercheck.go) makes sure the upstream
		// stored those bytes.
		DisableContentSha256: true,
	}
	if o.ContentType == "" {
		o.ContentType = "application/octet-stream"
	}
	setCond(&o, cond)
	return o
}

// setCond sets the (pinned, see pinCond) conditions on an upstream write.
// minio-go quotes the ETags itself: the client's quotes are removed first.
func setCond(o *minio.PutObjectOptions, cond store.Conditions) {
	if cond.IfMatch != "" {
		o.SetMatchETag(bareETag(cond.IfMatch))
	}
	if cond.IfNoneMatch != "" {
		o.SetMatchETagExcept(bareETag(cond.IfNoneMatch))
	}
}

// bareETag is etag without a weak prefix and quotes.
func bareETag(etag string) string {
	return strings.Trim(strings.TrimPrefix(strings.TrimSpace(etag), "W/"), `"`)
}

// pinCond turns conditions the upstream cannot evaluate itself (an ETag
// list, If-None-Match of an ETag, If-Match "*") into ones it can: the key's
// current version is checked here, and the write is made conditional on
// that version still being current (If-Match of its ETag, or If-None-Match
// "*" when there is none), so a write racing in between fails the
// condition instead of being overwritten.
func (s *Store) pinCond(ctx context.Context, bucket, key string, cond store.Conditions) (store.Conditions, error) {
	simple := !strings.ContainsAny(cond.IfMatch, ",*") && (cond.IfNoneMatch == "" || cond.IfNoneMatch == "*")
	if simple {
		return cond, nil
	}
	cur, err := s.statObject(ctx, bucket, key)
	exists := err == nil
	if err != nil && !errors.Is(err, store.ErrNoSuchKey) {
		return cond, err
	}
	etag := ""
	if exists {
		etag = cur.ETag
	}
	if err := cond.Check(exists, etag); err != nil {
		return cond, fmt.Errorf("upstream: %w", err)
	}
	if exists {
		return store.Conditions{IfMatch: etag}, nil
	}
	return store.Conditions{IfNoneMatch: "*"}, nil
}

// condErr maps a failed conditional write: a 412 is ErrPreconditionFailed,
// except that If-Match on a missing key is ErrNoSuchKey.
func (s *Store) condErr(ctx context.Context, err error, cond store.Conditions, bucket, key string) error {
	if cond.IfMatch != "" && (isCode(err, "PreconditionFailed") || isNotFound(err)) {
		if _, herr := s.statObject(ctx, bucket, key); errors.Is(herr, store.ErrNoSuchKey) {
			return fmt.Errorf("upstream: %w", store.ErrNoSuchKey)
		}
	}
	return s.mapErr(err)
}

// streamBody hands a request body of known size to minio-go, and
// withholds the bytes of the read that reaches the declared size until
// the body's own end has been seen (the gateway's verifying reader returns
// its digest or signature error there instead of io.EOF) and atEnd has
// approved. On any failure those bytes are never handed over: the upstream
// gets fewer bytes than the Content-Length it was promised, fails the
// request, and commits nothing.
//
// The HTTP transport may still read the body after the request has
// returned (an upstream that answers early); end marks the request over,
// after which reads fail and atEnd never runs.
type streamBody struct {
	r     io.Reader
	size  int64
	atEnd func() error // may be nil; runs under mu

	mu   sync.Mutex
	n    int64
	err  error // the body's failure (sticky)
	done bool  // the whole body was verified and handed over
	over bool  // the request has returned
}

var errRequestOver = errors.New("upstream: the request is over")

func (b *streamBody) Read(p []byte) (int, error) {
	b.mu.Lock()
	switch {
	case b.over:
		b.mu.Unlock()
		return 0, errRequestOver
	case b.err != nil:
		defer b.mu.Unlock()
		return 0, b.err
	case b.done:
		b.mu.Unlock()
		return 0, io.EOF
	case b.n == b.size:
		// Only for size 0: nothing to withhold, but the end must be seen.
		defer b.mu.Unlock()
		if err := b.finish(io.ErrNoProgress); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if rem := b.size - b.n; int64(len(p)) > rem {
		p = p[:rem]
	}
	b.mu.Unlock() // a client's body may take its time: read unlocked
	n, err := b.r.Read(p)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += int64(n)
	switch {
	case b.over:
		return 0, errRequestOver
	case err != nil && err != io.EOF:
		b.err = err
		return 0, err
	case b.n < b.size && err == io.EOF:
		b.err = fmt.Errorf("upstream: %w", store.ErrIncompleteBody)
		return 0, b.err
	case b.n < b.size:
		return n, nil
	}
	// This read holds the last byte.
	if err := b.finish(err); err != nil {
		return 0, err
	}
	return n, nil
}

// finish sees the body's end (err is what the last read returned) and
// runs atEnd; it records and returns any failure. mu is held.
func (b *streamBody) finish(err error) error {
	for err != io.EOF {
		var one [1]byte
		var n int
		n, err = b.r.Read(one[:])
		if n > 0 {
			b.err = fmt.Errorf("upstream: %w", store.ErrIncompleteBody)
			return b.err
		}
		if err != nil && err != io.EOF {
			b.err = err
			return err
		}
	}
	if b.atEnd != nil {
		if err := b.atEnd(); err != nil {
			b.err = err
			return err
		}
	}
	b.done = true
	return nil
}

// end marks the request over and returns whether the whole body was
// handed over, and the body's own failure (a short or long body
// included) if there was one. An upstream that answered before reading
// the whole body (a failed condition) is no body failure.
func (b *streamBody) end() (done bool, failure error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.over = true
	return b.done, b.err
}

// maxBuffered is the most memory a store's PutObject bodies being read
// whole may take together (at least one BufferSize). Every upload beyond
// it streams, so uploads stalled mid-body hold at most this much in
// buffers between them.
const maxBuffered = 16 << 20

// byteBudget counts bytes taken from a fixed budget.
type byteBudget struct {
	used atomic.Int64
	max  int64
}

// take takes n bytes if they fit.
func (b *byteBudget) take(n int64) bool {
	for {
		u := b.used.Load()
		if u+n > b.max {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// give gives back n bytes taken.
func (b *byteBudget) give(n int64) { b.used.Add(-n) }

// readSmall reads a body of at most limit bytes. It returns the data and
// true if the body ended within limit, else the bytes read so far. A body
// of known size is read into a buffer of exactly that size (no growing,
// no second copy).
func readSmall(r io.Reader, size, limit int64) ([]byte, bool, error) {
	if size >= 0 && size <= limit {
		return readExact(r, size)
	}
	want := limit + 1
	buf := bytes.NewBuffer(make([]byte, 0, min(want, 1<<20)))
	n, err := io.Copy(buf, io.LimitReader(r, want))
	if err != nil {
		return nil, false, err
	}
	return buf.Bytes(), n < want, nil
}

// readExact reads a body declared to be size bytes: whole is true if it
// ended at or before size (a short body is for the caller to refuse), false
// if it has more (the bytes read so far are returned, one past size).
func readExact(r io.Reader, size int64) (data []byte, whole bool, err error) {
	buf := make([]byte, size)
	n, err := io.ReadFull(r, buf)
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return buf[:n], true, nil
	}
	if err != nil {
		return nil, false, err
	}
	var one [1]byte
	switch m, err := io.ReadFull(r, one[:]); {
	case m == 1:
		return append(buf, one[0]), false, nil
	case err == io.EOF:
		return buf, true, nil
	default:
		return nil, false, err
	}
}

// PutObject stores a body. Bodies up to BufferSize are read whole, then
// sent in one PUT (replayable, with their transfer check as a header).
// Larger bodies of known size stream
// straight to the key (see streamBody): the upstream stores every byte
// once. Either way the conditions travel as If-Match / If-None-Match,
// which the upstream evaluates atomically at its commit. A body whose
// checksum is known only at its end gets it in a record
// (P.mp/<token>, written before the body's last byte is released).
func (s *Store) PutObject(ctx context.Context, bucket, key string, in store.PutInput) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return nil, err
	}
	if in.Size > store.MaxObjectSize {
		return nil, fmt.Errorf("upstream: %w", store.ErrIncompleteBody)
	}
	var err error
	if in.Cond, err = s.pinCond(ctx, bucket, key, in.Cond); err != nil {
		return nil, err
	}
	buffer := in.Size < 0 || in.Size <= s.bufSize
	if buffer && in.Size > 0 {
		// Bodies of known size are buffered within the store's budget;
		// beyond it they stream.
		if buffer = s.buffered.take(in.Size); buffer {
			defer s.buffered.give(in.Size)
		}
	}
	if buffer {
		data, whole, err := readSmall(in.Body, in.Size, s.bufSize)
		if err != nil {
			return nil, err
		}
		if whole {
			if in.Size >= 0 && int64(len(data)) != in.Size {
				return nil, fmt.Errorf("upstream: %w", store.ErrIncompleteBody)
			}
			return s.putSmall(ctx, bucket, key, data, in)
		}
		in.Body = io.MultiReader(bytes.NewReader(data), in.Body)
	}
	if in.Size < 0 {
		return s.putUnknownSize(ctx, bucket, key, in)
	}
	return s.putStream(ctx, bucket, key, in)
}

func (s *Store) putSmall(ctx context.Context, bucket, key string, data []byte, in store.PutInput) (*store.Object, error) {
	sums := in.Sums()
	if err := s.needMD5(sums); err != nil {
		return nil, err
	}
	b := &blob{Meta: in.Meta, Sum: sums.Checksum}
	opts := putOpts(b, in.Cond)
	name := s.dataName(bucket, key)
	// The transfer check: Content-MD5 when the MD5 is known (the client
	// sent one, or the md5 check), else the CRC32C if configured.
	var contentMD5 string
	var crc uint32
	if sums.MD5 != nil {
		contentMD5 = base64.StdEncoding.EncodeToString(sums.MD5)
	} else if s.check == checkCRC32C {
		crc = crc32.Checksum(data, castagnoli)
		opts.UserMetadata[crc32cHeader] = crc32cValue(crc)
	}
	var etag, up string
	err := s.replacing(ctx, name, key, func() (effect, error) {
		done := s.gates.write(name)
		info, err := s.core.PutObject(ctx, s.bucket, name, bytes.NewReader(data), int64(len(data)),
			contentMD5, "", opts)
		done()
		if err != nil {
			return effect{}, s.condErr(ctx, err, in.Cond, bucket, key)
		}
		up = info.VersionID
		e := effect{added: int64(len(data)), objs: 1}
		if contentMD5 == "" && s.check == checkCRC32C {
			if err := confirmCRC(info.ChecksumCRC32C, crc, false); err != nil {
				s.dropVersion(name, up)
				return e, err
			}
		}
		etag, err = s.storedETag(info.ETag, sums.MD5)
		return e, err
	})
	if err != nil {
		return nil, err
	}
	return s.written(ctx, bucket, key, etag, up, int64(len(data)), b, in.ModTimeUnused)
}

// putStream streams a body of known size to its key. Its metadata names
// a completion record for the checksum (known at the body's end only);
// the record is written, and the key's gate taken, before the last byte
// goes out.
func (s *Store) putStream(ctx context.Context, bucket, key string, in store.PutInput) (*store.Object, error) {
	name := s.dataName(bucket, key)
	b := &blob{Meta: in.Meta, Token: token(), Deferred: true}
	var (
		sums store.Sums  // set by atEnd, read after body.end
		done = func() {} // likewise
	)
	body := &streamBody{r: in.Body, size: in.Size, atEnd: func() error {
		sums = in.Sums()
		if err := s.needMD5(sums); err != nil {
			return err
		}
		if sums.Checksum.Algorithm != "" {
			// The ETag is known now only with the md5 check; else the
			// record (named by this put's own token) matches whatever
			// the upstream answers.
			rec := &mpRecord{Sum: sums.Checksum}
			if s.check == checkMD5 {
				rec.ETag = hex.EncodeToString(sums.MD5)
			}
			if err := s.putRecord(ctx, b.Token, rec); err != nil {
				return err
			}
		}
		done = s.gates.write(name)
		return nil
	}}
	var etag, up string
	opts := putOpts(b, in.Cond)
	sent := &crcReader{r: body} // the CRC32C of the bytes handed over
	err := s.replacing(ctx, name, key, func() (effect, error) {
		info, err := s.putStreamed(ctx, name, sent, in.Size, opts)
		up = info.VersionID
		handed, ferr := body.end()
		done()
		if ferr != nil {
			return effect{}, ferr
		}
		if err != nil {
			return effect{}, s.condErr(ctx, err, in.Cond, bucket, key)
		}
		// The upstream holds the object now: it counts.
		e := effect{added: in.Size, objs: 1}
		if !handed {
			return e, errors.New("upstream: the upstream stored an object without reading its whole body")
		}
		var cerr error
		if s.check == checkCRC32C {
			cerr = confirmCRC(info.ChecksumCRC32C, sent.sum, true)
		}
		if cerr == nil {
			etag, cerr = s.storedETag(info.ETag, sums.MD5)
		}
		if cerr != nil {
			// The upstream stored other bytes than the gateway verified
			// (corrupted in transit), or cannot say: take them away
			// again (still counted until the next scan).
			s.dropVersion(name, up)
		}
		return e, cerr
	})
	if err != nil {
		return nil, err
	}
	b.Sum = sums.Checksum
	return s.written(ctx, bucket, key, etag, up, in.Size, b, in.ModTimeUnused)
}

// putStreamed sends a streamed body: with its CRC32C as a trailer (see
// putTrailed) under the crc32c check, else as it is.
func (s *Store) putStreamed(ctx context.Context, name string, body *crcReader, size int64, opts minio.PutObjectOptions) (minio.UploadInfo, error) {
	if s.check != checkCRC32C {
		return s.core.PutObject(ctx, s.bucket, name, body, size, "", "", opts)
	}
	h, err := s.putTrailed(ctx, name, nil, opts.Header(), body, size)
	if err != nil {
		return minio.UploadInfo{}, err
	}
	return minio.UploadInfo{ETag: strings.Trim(h.Get("ETag"), `"`), ChecksumCRC32C: h.Get(crc32cHeader),
		VersionID: h.Get("X-Amz-Version-Id")}, nil
}

// putRecord writes a completion record (P.mp/<token>) and caches it.
func (s *Store) putRecord(ctx context.Context, tok string, rec *mpRecord) error {
	j, _ := json.Marshal(rec)
	if _, err := s.core.PutObject(ctx, s.bucket, s.mpName(tok), bytes.NewReader(j), int64(len(j)), "", "",
		minio.PutObjectOptions{ContentType: "application/json", DisableContentSha256: true}); err != nil {
		return s.mapErr(err)
	}
	s.mpCache.put(tok, rec)
	return nil
}

// written describes a just-written object (upstream version up), with
// the upstream's mtime unless the caller does not need it (then the time
// of the call). On a versioned upstream it settles the write (settle).
func (s *Store) written(ctx context.Context, bucket, key, etag, up string, size int64, b *blob, modTimeUnused bool) (*store.Object, error) {
	o := &store.Object{Key: key, Size: size, ETag: etag, Meta: b.Meta, Checksum: b.Sum, LastModified: time.Now().UTC()}
	if s.versioned() {
		if err := s.lockWritten(ctx, bucket, key, up, &b.Meta); err != nil {
			return nil, err
		}
		vid, err := s.settle(ctx, bucket, key, up)
		if err != nil {
			return nil, err
		}
		o.VersionID = vid
	}
	if modTimeUnused {
		return o, nil
	}
	info, err := s.core.StatObject(ctx, s.bucket, s.dataName(bucket, key), minio.StatObjectOptions{VersionID: up})
	if err == nil && trimETag(info.ETag) == etag {
		o.LastModified = info.LastModified
	}
	return o, nil
}

// putUnknownSize streams a body of unknown length to a staging object as
// a multipart upload of BufferSize parts, then copies it; a body that
// fits in one part is put at once.
func (s *Store) putUnknownSize(ctx context.Context, bucket, key string, in store.PutInput) (*store.Object, error) {
	partSize := max(s.bufSize, store.MinPartSize)
	// A body that fits in one part goes in one PUT, without staging (and
	// keeps the MD5 ETag on upstreams whose copies of a multipart object
	// keep its multipart ETag, as SeaweedFS's do).
	first, whole, err := readSmall(in.Body, -1, partSize)
	if err != nil {
		return nil, err
	}
	if whole {
		return s.putSmall(ctx, bucket, key, first, in)
	}
	staging := s.stagingName()
	h := md5.New()
	body := io.TeeReader(io.MultiReader(bytes.NewReader(first), in.Body), h)
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, staging, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		return nil, s.mapErr(err)
	}
	abort := func() { s.core.AbortMultipartUpload(context.Background(), s.bucket, staging, id) }
	var parts []minio.CompletePart
	var size int64
	for n := 1; ; n++ {
		data, whole, err := readSmall(body, -1, partSize)
		if err != nil {
			abort()
			return nil, err
		}
		if !whole {
			// readSmall read one byte more: keep it for the next part.
			extra := data[partSize:]
			data = data[:partSize]
			body = io.MultiReader(bytes.NewReader(extra), body)
		}
		if len(data) > 0 || n == 1 {
			p, err := s.core.PutObjectPart(ctx, s.bucket, staging, id, n, bytes.NewReader(data), int64(len(data)), minio.PutObjectPartOptions{})
			if err != nil {
				abort()
				return nil, s.mapErr(err)
			}
			parts = append(parts, minio.CompletePart{PartNumber: n, ETag: p.ETag})
			size += int64(len(data))
		}
		if whole {
			break
		}
	}
	if _, err := s.core.CompleteMultipartUpload(ctx, s.bucket, staging, id, parts, minio.PutObjectOptions{}); err != nil {
		abort()
		return nil, s.mapErr(err)
	}
	defer s.removeQuiet(staging)
	sums := in.Sums()
	if sums.MD5 != nil && !bytes.Equal(sums.MD5, h.Sum(nil)) {
		return nil, errors.New("upstream: body MD5 differs from the reader's")
	}
	return s.commitStaging(ctx, staging, bucket, key, hex.EncodeToString(h.Sum(nil)), size,
		&blob{Meta: in.Meta, Sum: sums.Checksum}, in.Cond)
}

// commitStaging copies a staging object to the key with its metadata.
// The upstream evaluates no destination conditions on a copy: they are
// checked just before it (not atomically; see docs/upstream.md).
func (s *Store) commitStaging(ctx context.Context, staging, bucket, key, etag string, size int64, b *blob, cond store.Conditions) (*store.Object, error) {
	if err := s.checkDest(ctx, bucket, key, cond); err != nil {
		return nil, err
	}
	name := s.dataName(bucket, key)
	var up string
	err := s.replacing(ctx, name, key, func() (effect, error) {
		done := s.gates.write(name)
		info, err := s.copyServer(ctx, staging, "", "", name, b)
		done()
		if err != nil {
			return effect{}, s.mapErr(err)
		}
		up = info.VersionID
		return effect{added: size, objs: 1}, nil
	})
	if err != nil {
		return nil, err
	}
	return s.written(ctx, bucket, key, etag, up, size, b, false)
}

// checkDest evaluates destination conditions before a copy.
func (s *Store) checkDest(ctx context.Context, bucket, key string, cond store.Conditions) error {
	if cond.IfMatch == "" && cond.IfNoneMatch == "" {
		return nil
	}
	cur, err := s.statObject(ctx, bucket, key)
	switch {
	case errors.Is(err, store.ErrNoSuchKey):
		err = cond.Check(false, "")
	case err != nil:
		return err
	default:
		err = cond.Check(true, cur.ETag)
	}
	if err != nil {
		return fmt.Errorf("upstream: %w", err)
	}
	return nil
}

// copyServer copies upstream object src (version srcUp, if set; of ETag
// srcETag, if set) to dst with metadata b, server-side, and returns the
// copy's ETag, mtime and upstream version id.
func (s *Store) copyServer(ctx context.Context, src, srcUp, srcETag, dst string, b *blob) (minio.ObjectInfo, error) {
	ct := b.Meta.ContentType
	if ct == "" {
		ct = "application/octet-stream"
	}
	h := http.Header{}
	h.Set("X-Amz-Metadata-Directive", "REPLACE")
	h.Set(metaHeader, b.encode())
	h.Set("Content-Type", ct)
	source := s3utils.EncodePath(s.bucket + "/" + src)
	if srcUp != "" {
		source += "?versionId=" + url.QueryEscape(srcUp)
	}
	h.Set("X-Amz-Copy-Source", source)
	if srcETag != "" {
		h.Set("X-Amz-Copy-Source-If-Match", `"`+srcETag+`"`)
	}
	resp, err := s.signedDo(ctx, http.MethodPut, dst, nil, h)
	if err != nil {
		return minio.ObjectInfo{}, err
	}
	defer resp.Body.Close()
	var res struct {
		ETag         string    `xml:"ETag"`
		LastModified time.Time `xml:"LastModified"`
	}
	if err := xml.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&res); err != nil {
		return minio.ObjectInfo{}, fmt.Errorf("upstream: copy answer: %v", err)
	}
	return minio.ObjectInfo{Key: dst, ETag: trimETag(res.ETag), LastModified: res.LastModified,
		VersionID: resp.Header.Get("X-Amz-Version-Id")}, nil
}

// copySource describes the source version of a copy and returns its
// upstream version id ("" for the current one).
func (s *Store) copySource(ctx context.Context, bucket, key, vid string) (*store.Object, string, error) {
	if !s.versioned() {
		o, err := s.HeadObject(ctx, bucket, key)
		return o, "", err
	}
	o, up, err := s.headVersion(ctx, bucket, key, vid)
	if vid == "" {
		up = "" // the current version, checked by its ETag
	}
	return o, up, err
}

// removeQuiet removes the internal upstream name (every version of it),
// ignoring failures.
func (s *Store) removeQuiet(name string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = s.purgeName(ctx, name)
}

// dropVersion removes the version up of the data name a failed write
// made, ignoring failures.
func (s *Store) dropVersion(name, up string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if s.versioned() && up != "" {
		_, _, _ = s.rawDelete(ctx, name, up, false)
		return
	}
	s.core.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
}

// statObject describes key without the bucket check.
func (s *Store) statObject(ctx context.Context, bucket, key string) (*store.Object, error) {
	name := s.dataName(bucket, key)
	s.gates.read(ctx, name)
	info, err := s.core.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{})
	if err != nil {
		return nil, s.mapErr(err)
	}
	return s.describe(ctx, bucket, key, info)
}

// describe turns upstream object info into a store.Object, loading the
// completion record of a multipart object and its attributes' sidecar.
func (s *Store) describe(ctx context.Context, bucket, key string, info minio.ObjectInfo) (*store.Object, error) {
	b, err := decodeBlob(info.Metadata)
	if err != nil {
		return nil, err
	}
	o := &store.Object{Key: key, Size: info.Size, ETag: trimETag(info.ETag), LastModified: info.LastModified,
		Meta: b.Meta, Checksum: b.Sum}
	if b.Token != "" && (b.Deferred || strings.Contains(o.ETag, "-")) {
		rec, err := s.loadMP(ctx, b.Token)
		if err != nil {
			return nil, err
		}
		if rec != nil && (rec.ETag == o.ETag || b.Deferred && rec.ETag == "" && rec.Sum.Algorithm != "") {
			o.Parts = rec.Parts
			o.Checksum = rec.Sum
			o.UploadID = rec.UploadID
		}
	}
	if err := s.overlay(ctx, bucket, o, info); err != nil {
		return nil, err
	}
	if s.locking() {
		nativeLock(&o.Meta, info)
	}
	return o, nil
}

func (s *Store) loadMP(ctx context.Context, tok string) (*mpRecord, error) {
	if rec := s.mpCache.get(tok); rec != nil {
		return rec, nil
	}
	r, _, _, err := s.core.GetObject(ctx, s.bucket, s.mpName(tok), minio.GetObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			// A streamed put without a checksum has no record; objects
			// become visible only after their record is written, so the
			// answer is final: remember it (an empty record matches no
			// ETag).
			s.mpCache.put(tok, &mpRecord{})
			return nil, nil
		}
		return nil, s.mapErr(err)
	}
	defer r.Close()
	rec := &mpRecord{}
	if err := json.NewDecoder(r).Decode(rec); err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("upstream: corrupt multipart record: %w", s.mapErr(err))
	}
	s.mpCache.put(tok, rec)
	return rec, nil
}

// HeadObject describes an object.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	if s.versioned() {
		o, _, err := s.headVersion(ctx, bucket, key, "")
		return o, err
	}
	o, err := s.statObject(ctx, bucket, key)
	if errors.Is(err, store.ErrNoSuchKey) {
		if berr := s.checkBucket(ctx, bucket); berr != nil {
			return nil, berr
		}
	}
	return o, err
}

// skipLimit is how many bytes GetObject reads and discards from an open
// whole-object answer to serve a range, rather than asking again.
const skipLimit = 256 << 10

// GetObject reads the object with one GET: its answer's headers describe
// the version being read, check chooses the range from them, and the body
// is served (a range by skipping, for small objects). A range of a large
// object is asked again with If-Match on the version checked, and a
// version replaced in between is read again from the start. One request
// per whole-object read keeps the upstream's per-key locking (MinIO takes
// a read lock per request) at its minimum.
func (s *Store) GetObject(ctx context.Context, bucket, key string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, nil, err
	}
	return s.getObject(ctx, bucket, key, "", "", check)
}

// getObject is GetObject of upstream version up ("" the current one),
// which the client named vid.
func (s *Store) getObject(ctx context.Context, bucket, key, up, vid string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	for attempt := 0; ; attempt++ {
		s.gates.read(ctx, s.dataName(bucket, key))
		body, info, _, err := s.core.GetObject(ctx, s.bucket, s.dataName(bucket, key), minio.GetObjectOptions{VersionID: up})
		if err != nil {
			if s.versioned() {
				return nil, nil, s.readErr(ctx, bucket, key, vid, info, err)
			}
			err = s.mapErr(err)
			if errors.Is(err, store.ErrNoSuchKey) {
				if berr := s.checkBucket(ctx, bucket); berr != nil {
					return nil, nil, berr
				}
			}
			return nil, nil, err
		}
		o, err := s.describe(ctx, bucket, key, info)
		if err == nil {
			err = s.stamp(ctx, bucket, o, info.VersionID)
		}
		if err != nil {
			body.Close()
			return nil, nil, err
		}
		off, length := int64(0), int64(-1)
		if check != nil {
			if off, length, err = check(o); err != nil {
				body.Close()
				return o, nil, err
			}
		}
		if off < 0 || off > o.Size || length < -1 || length > o.Size-off {
			body.Close()
			return o, nil, fmt.Errorf("upstream: range %d+%d of %d bytes: %w", off, length, o.Size, store.ErrInvalidRange)
		}
		if length == -1 {
			length = o.Size - off
		}
		switch {
		case length == 0:
			body.Close()
			return o, io.NopCloser(bytes.NewReader(nil)), nil
		case off == 0 && length == o.Size:
			return o, &reader{r: body, s: s, want: length}, nil
		case off <= skipLimit && o.Size <= 2*skipLimit:
			if _, err := io.CopyN(io.Discard, body, off); err != nil {
				body.Close()
				return nil, nil, s.mapErr(err)
			}
			return o, &reader{r: limitCloser{io.LimitReader(body, length), body}, s: s, want: length}, nil
		}
		body.Close()
		opts := minio.GetObjectOptions{VersionID: up}
		opts.SetMatchETag(o.ETag)
		opts.SetRange(off, off+length-1)
		s.gates.read(ctx, s.dataName(bucket, key))
		r, _, _, err := s.core.GetObject(ctx, s.bucket, s.dataName(bucket, key), opts)
		if err != nil {
			if (isCode(err, "PreconditionFailed") || isNotFound(err)) && attempt < 3 {
				// Replaced or deleted since it was checked: look again
				// (check sees the version that will be read).
				continue
			}
			if isCode(err, "PreconditionFailed") || isNotFound(err) {
				return nil, nil, fmt.Errorf("upstream: object changed while opening: %w", store.ErrNoSuchKey)
			}
			return nil, nil, s.mapErr(err)
		}
		return o, &reader{r: r, s: s, want: length}, nil
	}
}

// limitCloser reads a limited part of a body and closes the body.
type limitCloser struct {
	io.Reader
	c io.Closer
}

func (l limitCloser) Close() error { return l.c.Close() }

// reader maps read errors and checks the length.
type reader struct {
	r    io.ReadCloser
	s    *Store
	want int64
	n    int64
}

func (r *reader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.n += int64(n)
	if err == io.EOF && r.n != r.want {
		return n, fmt.Errorf("upstream: object read ended after %d of %d bytes: %w", r.n, r.want, io.ErrUnexpectedEOF)
	}
	if err != nil && err != io.EOF {
		return n, r.s.mapErr(err)
	}
	return n, err
}

func (r *reader) Close() error { return r.r.Close() }

// copyBufs are the buffers of reader.WriteTo.
var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

// WriteTo passes the object to w: from a spliceTransport answer by its
// WriteTo (splice), otherwise in reads of up to 1 MiB (io.Copy would use
// 32 KiB): fewer, larger reads and writes on the two connections.
func (r *reader) WriteTo(w io.Writer) (int64, error) {
	if wt, ok := r.r.(io.WriterTo); ok {
		// A spliceTransport answer: passed on without a copy.
		n, err := wt.WriteTo(w)
		r.n += n
		if err == nil && r.n != r.want {
			err = fmt.Errorf("upstream: object read ended after %d of %d bytes: %w", r.n, r.want, io.ErrUnexpectedEOF)
		}
		return n, err // a failure of either side: the answer has begun
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	var total int64
	for {
		n, err := r.Read(*bp)
		if n > 0 {
			m, werr := w.Write((*bp)[:n])
			total += int64(m)
			if werr != nil {
				return total, werr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// DeleteObject removes an object. The completion record of a multipart
// object stays behind (see docs/upstream.md).
func (s *Store) DeleteObject(ctx context.Context, bucket, key string) error {
	if err := store.CheckNames(bucket, key); err != nil {
		return err
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return err
	}
	if s.versioned() {
		_, err := s.deleteCurrent(ctx, bucket, key)
		return err
	}
	name := s.dataName(bucket, key)
	return s.replacing(ctx, name, key, func() (effect, error) {
		done := s.gates.write(name)
		err := s.core.RemoveObject(ctx, s.bucket, name, minio.RemoveObjectOptions{})
		done()
		if err != nil && !isNotFound(err) {
			return effect{}, s.mapErr(err)
		}
		return effect{}, nil
	})
}

// CopyObject copies server-side when the source is a single-part object.
// A multipart source must get a single-part ETag (the MD5 of its bytes)
// and a full-object checksum, which no S3 copy computes: its bytes are
// read through the gateway, hashed, and written via a staging object.
func (s *Store) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, in store.CopyInput) (*store.Object, error) {
	if err := store.CheckNames(srcBucket, srcKey); err != nil {
		return nil, err
	}
	if err := store.CheckNames(dstBucket, dstKey); err != nil {
		return nil, err
	}
	if err := s.checkBucket(ctx, dstBucket); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		src, srcUp, err := s.copySource(ctx, srcBucket, srcKey, in.SrcVersionID)
		if err != nil {
			return nil, err
		}
		if in.SrcCheck != nil {
			if err := in.SrcCheck(src); err != nil {
				return nil, err
			}
		}
		b := &blob{Meta: src.Meta, Sum: src.Checksum}
		if in.Meta != nil {
			b.Meta = *in.Meta
		}
		if in.Attrs != nil {
			a := in.Attrs(src)
			b.Meta.CopyAttrs(&a)
		}
		var o *store.Object
		alg := in.ChecksumAlgorithm
		if alg == "" {
			alg = src.Checksum.Algorithm
		}
		sameSum := alg == src.Checksum.Algorithm && (alg == "" || src.Checksum.Type == store.FullObject)
		if len(src.Parts) == 0 && !strings.Contains(src.ETag, "-") && sameSum {
			if err = s.checkDest(ctx, dstBucket, dstKey, in.Cond); err != nil {
				return nil, err
			}
			dst := s.dataName(dstBucket, dstKey)
			var up string
			err = s.replacing(ctx, dst, dstKey, func() (effect, error) {
				done := s.gates.write(dst)
				info, err := s.copyServer(ctx, s.dataName(srcBucket, srcKey), srcUp, src.ETag, dst, b)
				done()
				if err != nil {
					return effect{}, err
				}
				up = info.VersionID
				return effect{added: src.Size, objs: 1}, nil
			})
			if err == nil {
				return s.written(ctx, dstBucket, dstKey, src.ETag, up, src.Size, b, false)
			}
		} else {
			o, err = s.copyThrough(ctx, src, srcUp, alg, srcBucket, srcKey, dstBucket, dstKey, b, in.Cond)
			if err == nil {
				return o, nil
			}
		}
		if (isCode(err, "PreconditionFailed") || isNotFound(err)) && attempt < 3 {
			continue // the source changed after it was checked
		}
		if isCode(err, "PreconditionFailed") || isNotFound(err) {
			return nil, fmt.Errorf("upstream: copy source changed: %w", store.ErrNoSuchKey)
		}
		var ue *upErr
		if errors.As(err, &ue) || errors.Is(err, ErrUnavailable) || isStoreErr(err) {
			return nil, err
		}
		return nil, s.mapErr(err)
	}
}

func isStoreErr(err error) bool {
	for _, e := range []error{store.ErrNoSuchKey, store.ErrNoSuchBucket, store.ErrPreconditionFailed, store.ErrInvalidKey} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// copyThrough copies an object by reading it (If-Match on the checked
// version), hashing it (MD5 and a full-object checksum in alg, if set),
// staging it, and copying the staging object: for multipart sources and
// copies in another checksum algorithm.
func (s *Store) copyThrough(ctx context.Context, src *store.Object, srcUp, alg, srcBucket, srcKey, dstBucket, dstKey string, b *blob, cond store.Conditions) (*store.Object, error) {
	opts := minio.GetObjectOptions{VersionID: srcUp}
	opts.SetMatchETag(src.ETag)
	r, _, _, err := s.core.GetObject(ctx, s.bucket, s.dataName(srcBucket, srcKey), opts)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	md := md5.New()
	var sum hash.Hash
	if alg != "" {
		if sum, err = checksum.New(alg); err != nil {
			return nil, err
		}
	}
	w := io.Writer(md)
	if sum != nil {
		w = io.MultiWriter(md, sum)
	}
	staging := s.stagingName()
	if _, err := s.core.PutObject(ctx, s.bucket, staging, io.TeeReader(r, w), src.Size, "", "",
		minio.PutObjectOptions{ContentType: "application/octet-stream"}); err != nil {
		return nil, err
	}
	defer s.removeQuiet(staging)
	if sum != nil {
		b.Sum = store.Checksum{Algorithm: alg, Type: store.FullObject,
			Value: base64.StdEncoding.EncodeToString(sum.Sum(nil))}
	}
	return s.commitStaging(ctx, staging, dstBucket, dstKey, hex.EncodeToString(md.Sum(nil)), src.Size, b, cond)
}
