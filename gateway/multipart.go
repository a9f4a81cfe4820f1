package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/payload"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

func (h *Handler) createMultipartUpload(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	meta, err := metadataFromRequest(r.Header)
	if err != nil {
		return err
	}
	meta.ACL = rc.access.reqACL.objectString()
	if err := h.applyWriteLock(r, rc, &meta, false); err != nil {
		return err
	}
	in := store.UploadInput{Meta: meta, ChecksumAlgorithm: strings.ToUpper(r.Header.Get("x-amz-checksum-algorithm"))}
	in.ChecksumType, err = checksum.UploadType(in.ChecksumAlgorithm, strings.ToUpper(r.Header.Get("x-amz-checksum-type")))
	if err != nil {
		return err
	}
	release, err := h.reserve(r.Context(), rc, store.UploadCost(rc.key, &in.Meta), nil)
	if err != nil {
		return err
	}
	defer release()
	id, err := h.opts.Store.CreateMultipartUpload(r.Context(), rc.bucket, rc.key, in)
	if err != nil {
		return err
	}
	if in.ChecksumAlgorithm != "" {
		w.Header().Set("x-amz-checksum-algorithm", in.ChecksumAlgorithm)
		w.Header().Set("x-amz-checksum-type", in.ChecksumType)
	}
	writeXML(w, http.StatusOK, initiateMultipartUploadResult{NS: s3NS, Bucket: rc.bucket, Key: rc.key, UploadID: id})
	return nil
}

// partTarget parses partNumber and uploadId and looks the upload up, so a
// part for an unknown upload is refused before its body is read.
func (h *Handler) partTarget(r *http.Request, rc *reqContext) (int, store.Upload, error) {
	q := r.URL.Query()
	n, err := strconv.Atoi(q.Get("partNumber"))
	if err != nil || n < 1 || n > store.MaxPartNumber {
		return 0, store.Upload{}, s3err.InvalidArgument.WithMessage("Part number must be an integer between 1 and 10000, inclusive")
	}
	page, err := h.opts.Store.ListParts(r.Context(), rc.bucket, rc.key, q.Get("uploadId"), store.MaxPartNumber, 1)
	if err != nil {
		return 0, store.Upload{}, err
	}
	return n, page.Upload, nil
}

func (h *Handler) uploadPart(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	n, up, err := h.partTarget(r, rc)
	if err != nil {
		return err
	}
	pr, err := h.newObjectBody(r, rc, up.ChecksumAlgorithm)
	if err != nil {
		return err
	}
	if pr.Size() > store.MaxPartSize {
		return s3err.EntityTooLarge.WithMessage("A part is limited to 5 GiB.")
	}
	body, release, err := h.meterBody(r.Context(), rc, pr, pr.Size(), store.PartOverhead, nil)
	if err != nil {
		return err
	}
	defer release()
	part, err := h.opts.Store.UploadPart(r.Context(), rc.bucket, rc.key, up.UploadID, n,
		store.PutInput{Body: body, Size: pr.Size(), Sums: pr.Sums})
	if err != nil {
		return err
	}
	w.Header().Set("ETag", quoteETag(part.ETag))
	setChecksumHeaders(w.Header(), store.Checksum{Algorithm: up.ChecksumAlgorithm, Value: part.Checksum})
	w.WriteHeader(http.StatusOK)
	return nil
}

// parseCopyRange parses x-amz-copy-source-range, which must be "bytes=a-b".
func parseCopyRange(v string) (byteRange, bool, error) {
	if v == "" {
		return byteRange{}, false, nil
	}
	br, ok := parseRange(v)
	if !ok || br.suffix > 0 || br.end < 0 {
		return br, false, s3err.InvalidArgument.WithMessage("The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy")
	}
	return br, true, nil
}

func (h *Handler) uploadPartCopy(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	srcBucket, srcKey, srcVersion, err := copySource(r.Header)
	if err != nil {
		return err
	}
	br, hasRange, err := parseCopyRange(r.Header.Get("x-amz-copy-source-range"))
	if err != nil {
		return err
	}
	n, up, err := h.partTarget(r, rc)
	if err != nil {
		return err
	}
	srcCond := parseConditionals(r.Header, "x-amz-copy-source-")
	var length int64
	srcObj, src, err := h.opts.Store.GetObjectVersion(r.Context(), srcBucket, srcKey, srcVersion, func(o *store.Object) (int64, int64, error) {
		if err := srcCond.check(o, s3err.PreconditionFailed); err != nil {
			return 0, 0, err
		}
		if !hasRange {
			length = o.Size
			return 0, o.Size, nil
		}
		if br.start >= o.Size || br.end >= o.Size {
			return 0, 0, s3err.InvalidRange.WithMessage("The x-amz-copy-source-range value exceeds the source object's size.")
		}
		length = br.end - br.start + 1
		return br.start, length, nil
	})
	if err != nil {
		return copySourceError(err)
	}
	defer src.Close()
	if srcObj.VersionID != "" {
		w.Header().Set("x-amz-copy-source-version-id", srcObj.VersionID)
	}
	if length > store.MaxPartSize {
		return s3err.InvalidRequest.WithMessage("The specified copy source is larger than the maximum allowable size for a copy source: 5368709120")
	}
	pr, err := payload.New(src, payload.Options{Header: http.Header{}, ContentLength: length,
		PayloadHash: "UNSIGNED-PAYLOAD", RequireAlgorithm: up.ChecksumAlgorithm,
		SkipMD5: store.MakesETags(h.opts.Store)})
	if err != nil {
		return err
	}
	release, err := h.reserve(r.Context(), rc, store.PartCost(length), nil)
	if err != nil {
		return err
	}
	defer release()
	part, err := h.opts.Store.UploadPart(r.Context(), rc.bucket, rc.key, up.UploadID, n,
		store.PutInput{Body: pr, Size: length, Sums: pr.Sums})
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, copyPartResult{NS: s3NS, LastModified: timeISO(part.LastModified),
		ETag: quoteETag(part.ETag), checksumFields: checksumXML(up.ChecksumAlgorithm, part.Checksum)})
	return nil
}

func (h *Handler) completeMultipartUpload(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	cond, err := writeConditions(r.Header)
	if err != nil {
		return err
	}
	uploadID := r.URL.Query().Get("uploadId")
	page, err := h.opts.Store.ListParts(r.Context(), rc.bucket, rc.key, uploadID, store.MaxPartNumber, 1)
	// An upload that is gone may have been completed by an earlier attempt
	// of this request: then the store answers a repeat with the same parts.
	// Any other missing upload is refused before its body is read.
	repeat := errors.Is(err, store.ErrNoSuchUpload) && h.completedUpload(r, rc, uploadID)
	if err != nil && !repeat {
		return err
	}
	// x-amz-checksum-<alg> on this request is the checksum of the object
	// being completed, not of the XML document.
	body, err := h.readXMLBody(r, rc, maxCompleteXML, false)
	if err != nil {
		return err
	}
	var req completeMultipartUpload
	if err := xml.Unmarshal(body, &req); err != nil {
		return s3err.MalformedXML
	}
	if len(req.Parts) == 0 || len(req.Parts) > store.MaxPartNumber {
		return s3err.MalformedXML.WithMessage("The XML you provided was not well-formed or did not validate against our published schema")
	}
	var up store.Upload
	if !repeat {
		up = page.Upload
	}
	parts := make([]store.CompletePart, len(req.Parts))
	for i, p := range req.Parts {
		parts[i] = store.CompletePart{Number: p.PartNumber, ETag: strings.Trim(p.ETag, `" `), Checksum: p.value(up.ChecksumAlgorithm)}
	}
	if !repeat {
		if err := checkPartChecksums(&req, up); err != nil {
			return err
		}
		if err := h.checkCompleteDeclared(r, rc, up, parts); err != nil {
			return err
		}
	}
	obj, err := h.opts.Store.CompleteMultipartUpload(r.Context(), rc.bucket, rc.key, uploadID, parts, store.CompleteInput{Cond: cond})
	if err != nil {
		return err
	}
	setVersionHeader(w.Header(), obj.VersionID)
	res := completeMultipartUploadResult{NS: s3NS, Location: objectURL(r, rc),
		Bucket: rc.bucket, Key: rc.key, ETag: quoteETag(obj.ETag),
		checksumFields: checksumXML(obj.Checksum.Algorithm, obj.Checksum.Value), ChecksumType: obj.Checksum.Type}
	writeXML(w, http.StatusOK, res)
	return nil
}

// completedUpload reports whether the key's current object was made by
// the upload uploadID.
func (h *Handler) completedUpload(r *http.Request, rc *reqContext, uploadID string) bool {
	o, err := h.opts.Store.HeadObject(r.Context(), rc.bucket, rc.key)
	return err == nil && uploadID != "" && o.UploadID == uploadID
}

// objectURL is the object's URL as the client addressed it (virtual-hosted
// or path style), with the key path-escaped.
func objectURL(r *http.Request, rc *reqContext) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	path := "/" + escapeKeyPath(rc.key)
	if !rc.vhost {
		path = "/" + rc.bucket + path
	}
	return scheme + "://" + r.Host + path
}

// checkPartChecksums refuses, as S3 does, a listed part whose checksum is
// of another algorithm than the upload's and, when the upload has a
// COMPOSITE checksum (made of the part checksums), a listed part without
// its checksum.
func checkPartChecksums(req *completeMultipartUpload, up store.Upload) error {
	alg := up.ChecksumAlgorithm
	for _, p := range req.Parts {
		for _, a := range checksum.Names {
			switch {
			case a == alg || p.value(a) == "":
			case alg == "":
				return s3err.InvalidRequest.WithMessage("The upload was created without a checksum; the complete request cannot include a %s checksum (part %d).", strings.ToLower(a), p.PartNumber)
			default:
				return s3err.InvalidRequest.WithMessage("The upload was created using a %s checksum. The complete request must use the same checksum algorithm; part %d has a %s checksum.", strings.ToLower(alg), p.PartNumber, strings.ToLower(a))
			}
		}
		if up.ChecksumType == store.Composite && p.value(alg) == "" {
			return s3err.InvalidRequest.WithMessage("The upload was created using a %s checksum. The complete request must include the checksum for each part. It was missing for part %d in the request.", strings.ToLower(alg), p.PartNumber)
		}
	}
	return nil
}

// checkCompleteDeclared checks what a CompleteMultipartUpload may declare
// of the object against the upload and the listed parts before anything is
// committed: its checksum (x-amz-checksum-<alg>, x-amz-checksum-type, as
// SDKs send for FULL_OBJECT uploads; a mismatch is BadDigest) and its size
// (x-amz-mp-object-size; a mismatch is InvalidRequest). Parts out of
// order, missing or with another ETag are left for the store to report
// (InvalidPartOrder, InvalidPart).
func (h *Handler) checkCompleteDeclared(r *http.Request, rc *reqContext, up store.Upload, parts []store.CompletePart) error {
	alg, value, err := declaredChecksum(r.Header, up)
	if err != nil {
		return err
	}
	size, hasSize, err := declaredSize(r.Header)
	if err != nil {
		return err
	}
	if alg == "" && !hasSize {
		return nil
	}
	listed, err := h.listedParts(r, rc, up, parts)
	if err != nil || listed == nil {
		return err
	}
	if hasSize {
		var got int64
		for _, p := range listed {
			got += p.Size
		}
		if got != size {
			return s3err.InvalidRequest.WithMessage("The provided 'x-amz-mp-object-size' header value %d does not match what was computed: %d", size, got)
		}
	}
	if alg == "" {
		return nil
	}
	// A COMPOSITE value may come with or without its "-N" suffix.
	base, _, _ := strings.Cut(value, "-")
	sums := make([]checksum.PartSum, len(listed))
	for i, p := range listed {
		sums[i] = checksum.PartSum{Value: p.Checksum, Size: p.Size}
	}
	want, err := checksum.Combine(alg, up.ChecksumType, sums)
	if err != nil {
		return err
	}
	if wantBase, _, _ := strings.Cut(want, "-"); wantBase != base {
		return s3err.BadDigest.WithMessage("The %s you specified did not match the calculated checksum.", alg)
	}
	return nil
}

// declaredChecksum returns the object checksum a CompleteMultipartUpload
// declares (alg "" if none), checked against the upload's algorithm and
// type.
func declaredChecksum(hdr http.Header, up store.Upload) (alg, value string, err error) {
	for k, vs := range hdr {
		if !objectChecksumHeader(k) || strings.EqualFold(k, "X-Amz-Sdk-Checksum-Algorithm") {
			continue
		}
		a := checksum.FromHeaderName(k)
		switch {
		case a == "":
			return "", "", checksum.ErrUnsupported
		case alg != "" || len(vs) != 1:
			return "", "", s3err.InvalidRequest.WithMessage("Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.")
		}
		alg, value = a, strings.TrimSpace(vs[0])
	}
	if typ := strings.ToUpper(strings.TrimSpace(hdr.Get("x-amz-checksum-type"))); typ != "" && typ != up.ChecksumType {
		if up.ChecksumType == "" {
			return "", "", s3err.InvalidRequest.WithMessage("The upload was created without a checksum; the x-amz-checksum-type header cannot be used to complete it.")
		}
		return "", "", s3err.InvalidRequest.WithMessage("The upload was created using the %s checksum mode. The complete request must use the same checksum mode.", up.ChecksumType)
	}
	if alg == "" {
		return "", "", nil
	}
	if alg != up.ChecksumAlgorithm {
		if up.ChecksumAlgorithm == "" {
			return "", "", s3err.InvalidRequest.WithMessage("The upload was created without a checksum; the complete request cannot declare a %s checksum.", alg)
		}
		return "", "", s3err.InvalidRequest.WithMessage("The upload was created using a %s checksum. The complete request must use the same checksum algorithm.", strings.ToLower(up.ChecksumAlgorithm))
	}
	// base64, then for a COMPOSITE value optionally "-" and the part count.
	base, n, composite := strings.Cut(value, "-")
	if !checksum.DecodeValue(alg, base, make([]byte, checksum.Size(alg))) || composite && !partCount(n) {
		return "", "", s3err.InvalidRequest.WithMessage("Value for %s header is invalid.", checksum.HeaderName(alg))
	}
	return alg, value, nil
}

// declaredSize parses x-amz-mp-object-size, the object size a
// CompleteMultipartUpload may declare.
func declaredSize(hdr http.Header) (int64, bool, error) {
	v := hdr.Get("x-amz-mp-object-size")
	if v == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0, false, s3err.InvalidRequest.WithMessage("Value for x-amz-mp-object-size header is invalid: '%s'", v)
	}
	return n, true, nil
}

// listedParts returns the uploaded part behind each listed part, or nil
// when the list is out of order or names a part that was not uploaded
// with that ETag (the store reports those).
func (h *Handler) listedParts(r *http.Request, rc *reqContext, up store.Upload, parts []store.CompletePart) ([]store.Part, error) {
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return nil, nil
		}
	}
	uploaded := make(map[int]store.Part, len(parts))
	for after := 0; ; {
		page, err := h.opts.Store.ListParts(r.Context(), rc.bucket, rc.key, up.UploadID, after, store.MaxListKeys)
		if err != nil {
			return nil, err
		}
		for _, p := range page.Parts {
			uploaded[p.Number] = p
		}
		if !page.Truncated || page.Next <= after {
			break
		}
		after = page.Next
	}
	out := make([]store.Part, len(parts))
	for i, cp := range parts {
		p, ok := uploaded[cp.Number]
		if !ok || !strings.EqualFold(p.ETag, cp.ETag) {
			return nil, nil
		}
		out[i] = p
	}
	return out, nil
}

func (h *Handler) abortMultipartUpload(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	uploadID := r.URL.Query().Get("uploadId")
	if v := r.Header.Get("x-amz-if-match-initiated-time"); v != "" {
		// Abort only the upload initiated at that time (an upload's
		// initiation time never changes, so checking first is not a race);
		// a missing upload is a success, as S3 documents.
		t, err := http.ParseTime(v)
		if err != nil {
			return s3err.InvalidArgument.WithMessage("Invalid x-amz-if-match-initiated-time header: %q is not an HTTP date.", clipped(v))
		}
		page, err := h.opts.Store.ListParts(r.Context(), rc.bucket, rc.key, uploadID, store.MaxPartNumber, 1)
		switch {
		case errors.Is(err, store.ErrNoSuchUpload):
			w.WriteHeader(http.StatusNoContent)
			return nil
		case err != nil:
			return err
		case !page.Upload.Initiated.Truncate(time.Second).Equal(t):
			return s3err.PreconditionFailed
		}
	}
	if err := h.opts.Store.AbortMultipartUpload(r.Context(), rc.bucket, rc.key, uploadID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// intParam parses an optional non-negative integer query parameter, capped.
func intParam(v string, def, max int, name string) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, s3err.InvalidArgument.WithMessage("Provided %s not an integer or within integer range", name)
	}
	return min(n, max), nil
}

func (h *Handler) listParts(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	limit, err := intParam(q.Get("max-parts"), 1000, 1000, "max-parts")
	if err != nil {
		return err
	}
	after, err := intParam(q.Get("part-number-marker"), 0, store.MaxPartNumber, "part-number-marker")
	if err != nil {
		return err
	}
	// The store reads a limit of 0 as its default page, but max-parts=0
	// asks for no parts: an empty, complete page, as AWS answers
	// max-keys=0 (a truncated one would loop a paginator on one marker).
	page, err := h.opts.Store.ListParts(r.Context(), rc.bucket, rc.key, q.Get("uploadId"), after, max(limit, 1))
	if err != nil {
		return err
	}
	if limit == 0 {
		page.Truncated, page.Parts, page.Next = false, nil, 0
	}
	res := listPartsResult{NS: s3NS, Bucket: rc.bucket, Key: rc.key, UploadID: page.Upload.UploadID,
		Initiator: h.owner, Owner: h.owner, StorageClass: storageClass(page.Upload.Meta), PartNumberMarker: after,
		NextPartNumberMarker: page.Next, MaxParts: limit, IsTruncated: page.Truncated,
		ChecksumAlgorithm: page.Upload.ChecksumAlgorithm, ChecksumType: page.Upload.ChecksumType}
	for _, p := range page.Parts {
		res.Parts = append(res.Parts, partEntry{PartNumber: p.Number, LastModified: timeISO(p.LastModified),
			ETag: quoteETag(p.ETag), Size: p.Size, checksumFields: checksumXML(page.Upload.ChecksumAlgorithm, p.Checksum)})
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

func (h *Handler) listMultipartUploads(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	limit, err := intParam(q.Get("max-uploads"), 1000, 1000, "max-uploads")
	if err != nil {
		return err
	}
	enc, err := encodingType(q)
	if err != nil {
		return err
	}
	opts := store.UploadsOptions{Prefix: q.Get("prefix"), Delimiter: q.Get("delimiter"),
		KeyMarker: q.Get("key-marker"), UploadIDMarker: q.Get("upload-id-marker"), Limit: limit}
	res := listMultipartUploadsResult{NS: s3NS, Bucket: rc.bucket, KeyMarker: enc(opts.KeyMarker),
		UploadIDMarker: opts.UploadIDMarker, Prefix: enc(opts.Prefix), Delimiter: enc(opts.Delimiter),
		MaxUploads: limit, EncodingType: q.Get("encoding-type")}
	if limit == 0 {
		if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
			return err
		}
		writeXML(w, http.StatusOK, res)
		return nil
	}
	page, err := h.opts.Store.ListMultipartUploads(r.Context(), rc.bucket, opts)
	if err != nil {
		return err
	}
	res.IsTruncated = page.Truncated
	res.NextKeyMarker, res.NextUploadIDMarker = enc(page.NextKeyMarker), page.NextUploadIDMarker
	for _, u := range page.Uploads {
		res.Uploads = append(res.Uploads, uploadEntry{Key: enc(u.Key), UploadID: u.UploadID, Initiator: h.owner,
			Owner: h.owner, StorageClass: storageClass(u.Meta), Initiated: timeISO(u.Initiated),
			ChecksumAlgorithm: u.ChecksumAlgorithm, ChecksumType: u.ChecksumType})
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{Prefix: enc(p)})
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// partCount reports whether s is a COMPOSITE checksum's part count: a
// decimal number without sign or leading zero.
func partCount(s string) bool {
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil && s[0] != '0'
}
