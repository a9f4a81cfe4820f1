package gateway

import (
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// invalidPartNumber answers ?partNumber=N beyond the object's parts.
var invalidPartNumber = &s3err.Error{Code: "InvalidPartNumber", Status: http.StatusRequestedRangeNotSatisfiable,
	Message: "The requested partnumber is not satisfiable"}

func quoteETag(etag string) string { return `"` + etag + `"` }

func (h *Handler) putObject(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	meta, err := metadataFromRequest(r.Header)
	if err != nil {
		return err
	}
	meta.ACL = rc.access.reqACL.objectString()
	if err := h.applyWriteLock(r, rc, &meta, true); err != nil {
		return err
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	pr, err := h.newObjectBody(r, rc, defaultChecksum(r.Header))
	if err != nil {
		return err
	}
	if pr.Size() > store.MaxPartSize {
		return s3err.EntityTooLarge.WithMessage("A single PUT is limited to 5 GiB; use a multipart upload.")
	}
	body, release, err := h.meterBody(r.Context(), rc, pr, pr.Size(), store.ObjectCost(rc.key, 0, h.chargedMeta(&meta)), h.replacedCost(rc))
	if err != nil {
		return err
	}
	defer release()
	obj, err := h.opts.Store.PutObject(r.Context(), rc.bucket, rc.key,
		store.PutInput{Body: body, Size: pr.Size(), Sums: pr.Sums, Meta: meta, Cond: cond, ModTimeUnused: true})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", quoteETag(obj.ETag))
	setChecksumHeaders(w.Header(), obj.Checksum)
	h.setExpiration(r.Context(), w.Header(), rc, obj)
	setVersionHeader(w.Header(), obj.VersionID)
	w.WriteHeader(http.StatusOK)
	return nil
}

// defaultChecksum is the checksum algorithm of a PUT that declares none:
// CRC64NVME, which S3 computes and stores for such uploads (a full-object
// checksum, computed in the same pass as the body's other digests and
// returned by the PUT and by checksum-mode reads). It is "" when the
// request declares an algorithm (a checksum header, a checksum trailer or
// x-amz-sdk-checksum-algorithm): the client's is used.
func defaultChecksum(hdr http.Header) string {
	for k := range hdr {
		if objectChecksumHeader(k) {
			return ""
		}
	}
	for _, v := range hdr.Values("X-Amz-Trailer") {
		if strings.Contains(strings.ToLower(v), "x-amz-checksum-") {
			return ""
		}
	}
	return store.CRC64NVME
}

// getObject serves GetObject and HeadObject.
func (h *Handler) getObject(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	cond := parseConditionals(r.Header, "")
	br, hasRange := parseRange(r.Header.Get("Range"))
	partNumber := 0
	if v := q.Get("partNumber"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > store.MaxPartNumber {
			return s3err.InvalidArgument.WithMessage("Part number must be an integer between 1 and 10000, inclusive.")
		}
		if hasRange {
			return s3err.InvalidRequest.WithMessage("Cannot specify both Range header and partNumber query parameter.")
		}
		partNumber = n
	}
	versionID, err := versionParam(r)
	if err != nil {
		return err
	}
	var (
		obj              *store.Object
		off, length      int64
		status           = http.StatusOK
		partChecksum     string
		checksumWholeObj = true
	)
	check := func(o *store.Object) (int64, int64, error) {
		obj = o
		if err := rc.access.checkRead(o); err != nil {
			return 0, 0, err
		}
		if err := cond.check(o, s3err.NotModified); err != nil {
			return 0, 0, err
		}
		off, length = 0, o.Size
		switch {
		case partNumber > 0 && len(o.Parts) > 0:
			if partNumber > len(o.Parts) {
				return 0, 0, invalidPartNumber
			}
			for _, p := range o.Parts[:partNumber-1] {
				off += p.Size
			}
			length = o.Parts[partNumber-1].Size
			partChecksum = o.Parts[partNumber-1].Checksum
			status, checksumWholeObj = http.StatusPartialContent, false
		case partNumber > 1:
			return 0, 0, invalidPartNumber
		case partNumber == 1:
			// AWS answers partNumber=1 of a single-part object as a range
			// covering the whole object: 206 with Content-Range (and no
			// parts count). An empty object has no range to describe: 200.
			if o.Size > 0 {
				status = http.StatusPartialContent
			}
		case hasRange && br.suffix > 0 && o.Size == 0:
			// RFC 9110 14.1.2: a suffix range with a non-zero length is
			// satisfiable on an empty representation (tail readers rely on
			// it), but no Content-Range can describe it: the whole, empty,
			// object with 200.
		case hasRange:
			var err error
			if off, length, err = br.resolve(o.Size); err != nil {
				return 0, 0, err
			}
			status, checksumWholeObj = http.StatusPartialContent, false
		}
		return off, length, nil
	}
	var body io.ReadCloser
	if r.Method == http.MethodHead {
		if obj, err = h.opts.Store.HeadObjectVersion(r.Context(), rc.bucket, rc.key, versionID); err == nil {
			_, _, err = check(obj)
		}
	} else {
		obj, body, err = h.opts.Store.GetObjectVersion(r.Context(), rc.bucket, rc.key, versionID, check)
	}
	if err != nil {
		setDeleteMarkerHeaders(w.Header(), err)
		if obj != nil {
			w.Header().Set("ETag", quoteETag(obj.ETag))
			w.Header().Set("Last-Modified", timeHTTP(obj.LastModified))
		}
		if obj != nil && (errors.Is(err, s3err.InvalidRange) || errors.Is(err, store.ErrInvalidRange)) {
			w.Header().Set("Content-Range", "bytes */"+strconv.FormatInt(obj.Size, 10))
		}
		return err
	}
	if body != nil {
		defer body.Close()
	}
	hdr := w.Header()
	writeMetadata(hdr, obj.Meta)
	h.setExpiration(r.Context(), hdr, rc, obj)
	for _, o := range responseOverrides {
		if v := q.Get(o[0]); v != "" {
			hdr.Set(o[1], v)
		}
	}
	hdr.Set("ETag", quoteETag(obj.ETag))
	hdr.Set("Last-Modified", timeHTTP(obj.LastModified))
	hdr.Set("Accept-Ranges", "bytes")
	setVersionHeader(hdr, obj.VersionID)
	hdr.Set("Content-Length", strconv.FormatInt(length, 10))
	if partNumber > 0 && len(obj.Parts) > 0 {
		hdr.Set("x-amz-mp-parts-count", strconv.Itoa(len(obj.Parts)))
	}
	if status == http.StatusPartialContent {
		hdr.Set("Content-Range", "bytes "+strconv.FormatInt(off, 10)+"-"+strconv.FormatInt(off+length-1, 10)+"/"+strconv.FormatInt(obj.Size, 10))
	}
	if strings.EqualFold(r.Header.Get("x-amz-checksum-mode"), "ENABLED") && obj.Checksum.Algorithm != "" {
		switch {
		case checksumWholeObj:
			setChecksumHeaders(hdr, obj.Checksum)
		case partChecksum != "":
			setChecksumHeaders(hdr, store.Checksum{Algorithm: obj.Checksum.Algorithm, Value: partChecksum})
		}
	}
	w.WriteHeader(status)
	if body == nil {
		return nil
	}
	n, err := io.Copy(w, body)
	if err != nil || n != length {
		// Headers are out: abort the connection so the client sees a
		// broken transfer, never a short object.
		panic(http.ErrAbortHandler)
	}
	return nil
}

// setChecksumHeaders sets x-amz-checksum-<alg> (and its type) from c.
func setChecksumHeaders(hdr http.Header, c store.Checksum) {
	if c.Algorithm == "" || c.Value == "" {
		return
	}
	hdr.Set(checksum.HeaderName(c.Algorithm), c.Value)
	if c.Type != "" {
		hdr.Set("x-amz-checksum-type", c.Type)
	}
}

// checksumType is c's type for XML bodies: "" when there is no checksum.
func checksumType(c store.Checksum) string {
	if c.Algorithm == "" || c.Value == "" {
		return ""
	}
	return c.Type
}

// checksumXML returns the checksum as XML body fields.
func checksumXML(alg, value string) checksumFields {
	var f checksumFields
	if p := f.field(alg); p != nil {
		*p = value
	}
	return f
}

// value returns the checksum of alg from XML body fields.
func (f checksumFields) value(alg string) string {
	if p := f.field(alg); p != nil {
		return *p
	}
	return ""
}

// field returns the field holding alg's value, nil for an unknown alg.
func (f *checksumFields) field(alg string) *string {
	switch alg {
	case store.CRC32:
		return &f.ChecksumCRC32
	case store.CRC32C:
		return &f.ChecksumCRC32C
	case store.CRC64NVME:
		return &f.ChecksumCRC64NVME
	case store.SHA1:
		return &f.ChecksumSHA1
	case store.SHA256:
		return &f.ChecksumSHA256
	case store.SHA512:
		return &f.ChecksumSHA512
	case store.MD5:
		return &f.ChecksumMD5
	case store.XXHASH64:
		return &f.ChecksumXXHASH64
	case store.XXHASH3:
		return &f.ChecksumXXHASH3
	case store.XXHASH128:
		return &f.ChecksumXXHASH128
	}
	return nil
}

// deleteObject deletes the key (in a versioned bucket: adds a delete
// marker) or, with versionId, that version.
func (h *Handler) deleteObject(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	versionID, err := versionParam(r)
	if err != nil {
		return err
	}
	ctx, err := h.lockContext(r, rc)
	if err != nil {
		return err
	}
	r = r.WithContext(ctx)
	if versionID == "" {
		release, err := h.reserveDeleteMarker(r, rc, rc.key)
		if err != nil {
			return err
		}
		defer release()
	}
	var res store.DeleteResult
	if ifMatch := r.Header.Get("If-Match"); ifMatch != "" {
		res, err = h.deleteIfMatch(r, rc, rc.key, versionID, ifMatch)
	} else {
		res, err = h.opts.Store.DeleteObjectVersion(r.Context(), rc.bucket, rc.key, versionID)
	}
	if err != nil {
		return err
	}
	if res.DeleteMarker {
		w.Header().Set("x-amz-delete-marker", "true")
	}
	setVersionHeader(w.Header(), res.VersionID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// deleteIfMatch is a conditional delete of key (DeleteObject's If-Match,
// an <ETag> in DeleteObjects): the key's current object is deleted (a
// delete marker added, in a versioned bucket) only if its ETag is one
// ifMatch names ("*": any), checked in the delete's own transaction. A
// missing key is NoSuchKey, a mismatch PreconditionFailed. Conditions
// apply to the current version only, as on S3: with a versionId it is
// refused (NotImplemented, as S3 answers If-Match with a versionId).
func (h *Handler) deleteIfMatch(r *http.Request, rc *reqContext, key, versionID, ifMatch string) (store.DeleteResult, error) {
	if versionID != "" {
		return store.DeleteResult{}, errNoConditionalDelete.WithMessage("If-Match applies to the current version: it cannot be combined with versionId on this gateway.")
	}
	return h.opts.Store.DeleteObjectIf(r.Context(), rc.bucket, key, func(cur *store.Object) error {
		switch {
		case cur == nil:
			return store.ErrNoSuchKey
		case !store.ETagListMatches(ifMatch, cur.ETag):
			return store.ErrPreconditionFailed
		}
		return nil
	})
}

// copySource parses x-amz-copy-source: "[/]bucket/key[?versionId=id]".
func copySource(hdr http.Header) (bucket, key, versionID string, err error) {
	raw := hdr.Get("x-amz-copy-source")
	if i := strings.Index(raw, "?"); i >= 0 {
		q, _ := url.ParseQuery(raw[i+1:])
		versionID = q.Get("versionId")
		raw = raw[:i]
	}
	src, uerr := url.PathUnescape(raw)
	if uerr != nil {
		return "", "", "", s3err.InvalidArgument.WithMessage("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	bucket, key, _ = strings.Cut(strings.TrimPrefix(src, "/"), "/")
	if bucket == "" || key == "" {
		return "", "", "", s3err.InvalidArgument.WithMessage("Copy Source must mention the source bucket and key: sourcebucket/sourcekey")
	}
	if !store.ValidBucketName(bucket) {
		return "", "", "", s3err.NoSuchBucket
	}
	if !store.ValidKey(key) {
		return "", "", "", invalidKey
	}
	return bucket, key, versionID, nil
}

func (h *Handler) copyObject(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	srcBucket, srcKey, srcVersion, err := copySource(r.Header)
	if err != nil {
		return err
	}
	if err := h.copySourceVersion(srcVersion); err != nil {
		return err
	}
	alg := strings.ToUpper(strings.TrimSpace(r.Header.Get("x-amz-checksum-algorithm")))
	if alg != "" && !checksum.Valid(alg) {
		return checksum.ErrUnsupported
	}
	var meta *store.Metadata
	switch d := r.Header.Get("x-amz-metadata-directive"); d {
	case "", "COPY":
		// A copy onto itself must change something: its metadata, its
		// storage class or its checksum algorithm.
		if srcBucket == rc.bucket && srcKey == rc.key && srcVersion == "" && r.Header.Get("x-amz-storage-class") == "" && alg == "" &&
			r.Header.Get("x-amz-website-redirect-location") == "" && !changesEncryption(r.Header) {
			return s3err.InvalidRequest.WithMessage("This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.")
		}
	case "REPLACE":
		m, err := metadataFromRequest(r.Header)
		if err != nil {
			return err
		}
		meta = &m
	default:
		return s3err.InvalidArgument.WithMessage("Unknown metadata directive.")
	}
	tags, err := copyTags(r.Header)
	if err != nil {
		return err
	}
	// S3 never copies the source's website redirect location: the copy
	// has the request's, whatever the metadata directive.
	redirect, err := websiteRedirect(r.Header)
	if err != nil {
		return err
	}
	var lock store.Metadata // the copy's retention and legal hold
	if err := h.applyWriteLock(r, rc, &lock, false); err != nil {
		return err
	}
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	srcCond := parseConditionals(r.Header, "x-amz-copy-source-")
	release := func() {}
	defer func() { release() }()
	var copied string // the source's version id
	obj, err := h.opts.Store.CopyObject(r.Context(), srcBucket, srcKey, rc.bucket, rc.key, store.CopyInput{
		Meta:              meta,
		Cond:              cond,
		ChecksumAlgorithm: alg,
		// A copy takes the source's tags or the request's, and the
		// request's ACL; S3 copies neither the ACL, the retention nor the
		// website redirect location of the source.
		Attrs: func(src *store.Object) store.Metadata {
			return store.Metadata{Tags: tags(src), ACL: rc.access.reqACL.objectString(),
				LockMode: lock.LockMode, LockUntil: lock.LockUntil, LegalHold: lock.LegalHold, WebsiteRedirect: redirect}
		},
		SrcVersionID: srcVersion,
		SrcCheck: func(src *store.Object) error {
			copied = src.VersionID
			if src.Size > store.MaxPartSize {
				return s3err.InvalidRequest.WithMessage("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120")
			}
			if err := srcCond.check(src, s3err.PreconditionFailed); err != nil {
				return err
			}
			// The copy's size is known once the source is: reserve it
			// before a byte is copied.
			release() // if the store checks the source again
			release = func() {}
			m := &src.Meta
			if meta != nil {
				m = meta
			}
			rel, err := h.reserve(r.Context(), rc, store.ObjectCost(rc.key, src.Size, h.chargedMeta(m)), h.replacedCost(rc))
			if err != nil {
				return err
			}
			release = rel
			return nil
		},
	})
	if err != nil {
		return copySourceError(err)
	}
	setVersionHeader(w.Header(), obj.VersionID)
	if copied != "" {
		w.Header().Set("x-amz-copy-source-version-id", copied)
	}
	writeXML(w, http.StatusOK, copyObjectResult{NS: s3NS, LastModified: timeISO(obj.LastModified),
		ETag: quoteETag(obj.ETag), checksumFields: checksumXML(obj.Checksum.Algorithm, obj.Checksum.Value), ChecksumType: checksumType(obj.Checksum)})
	return nil
}
