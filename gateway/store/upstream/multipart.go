package upstream

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// CreateMultipartUpload starts an upstream multipart upload on the key's
// upstream name (the object's metadata and a completion token go with it)
// and writes the upload record that ListMultipartUploads and ListParts
// read. The upload id is the upstream's.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key string, in store.UploadInput) (string, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return "", err
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return "", err
	}
	typ, err := checksum.UploadType(in.ChecksumAlgorithm, in.ChecksumType)
	if err != nil {
		return "", err
	}
	rec := &uploadRecord{Meta: in.Meta, Alg: in.ChecksumAlgorithm, Typ: typ, Token: token()}
	b := &blob{Meta: in.Meta, Token: rec.Token, Alg: rec.Alg, Typ: rec.Typ}
	name := s.dataName(bucket, key)
	id, err := s.core.NewMultipartUpload(ctx, s.bucket, name, putOpts(b, store.Conditions{}))
	if err != nil {
		return "", s.mapErr(err)
	}
	j, _ := json.Marshal(rec)
	if _, err := s.core.PutObject(ctx, s.bucket, s.uploadName(bucket, key, id), bytes.NewReader(j), int64(len(j)), "", "",
		minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		s.core.AbortMultipartUpload(context.Background(), s.bucket, name, id)
		return "", s.mapErr(err)
	}
	s.account(effect{added: store.UploadCost(key, &in.Meta)})
	return id, nil
}

// getUpload reads an upload's record: ErrNoSuchUpload if there is none
// for this bucket and key.
func (s *Store) getUpload(ctx context.Context, bucket, key, id string) (*uploadRecord, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	if id == "" || len(id) > 1024 || strings.ContainsAny(id, "/\x00") {
		return nil, fmt.Errorf("upstream: %w", store.ErrNoSuchUpload)
	}
	r, info, _, err := s.core.GetObject(ctx, s.bucket, s.uploadName(bucket, key, id), minio.GetObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return nil, fmt.Errorf("upstream: %w", store.ErrNoSuchUpload)
		}
		return nil, s.mapErr(err)
	}
	defer r.Close()
	rec := &uploadRecord{}
	if err := json.NewDecoder(r).Decode(rec); err != nil {
		return nil, fmt.Errorf("upstream: corrupt upload record: %w", s.mapErr(err))
	}
	rec.Initiated = info.LastModified
	return rec, nil
}

// errPartLength refuses an UploadPart without a Content-Length.
var errPartLength = fmt.Errorf("upstream: part of unknown length: %w", s3err.MissingContentLength)

// UploadPart streams a part to the upstream upload. A part's checksum
// (known once its body is read) is kept as an empty object named after
// the part number, ETag and checksum.
func (s *Store) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, in store.PutInput) (*store.Part, error) {
	if number < 1 || number > store.MaxPartNumber {
		return nil, fmt.Errorf("upstream: part number %d out of range", number)
	}
	rec, err := s.getUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, err
	}
	if in.Size > store.MaxPartSize {
		return nil, fmt.Errorf("upstream: %w", store.ErrIncompleteBody)
	}
	if in.Size < 0 {
		// A part of unknown length (chunked transfer, HTTP/2 without a
		// length) is refused as AWS refuses it: reading it whole first
		// would hold up to 5 GiB per request.
		return nil, errPartLength
	}
	size := in.Size
	var sums store.Sums
	// The part streams; its last byte goes out once the body is verified
	// (a failed part is never stored upstream).
	sb := &streamBody{r: in.Body, size: size, atEnd: func() error { sums = in.Sums(); return s.needMD5(sums) }}
	if size == 0 {
		if _, err := sb.Read(nil); err != io.EOF {
			return nil, err
		}
	}
	name := s.dataName(bucket, key)
	// A part replaces the upload's part of the same number, if any.
	replaced := false // a part of this number was there before this one
	oldPart := func() (int64, bool, error) {
		ps, err := s.partsNumbered(ctx, name, uploadID, number, 1)
		if err != nil || len(ps) == 0 {
			return 0, false, err
		}
		replaced = true
		return store.PartCost(ps[0].Size), false, nil
	}
	popts := minio.PutObjectPartOptions{DisableContentSha256: true}
	var sent *crcReader // the CRC32C sent as a trailer, if one is
	if s.check == checkCRC32C && size > 0 {
		sent = &crcReader{r: sb} // sent by putTrailed
	}
	var p minio.ObjectPart
	// A part upload holds its upload's lock shared (an abort that credits
	// the parts it lists takes it exclusively) and, while it learns the
	// part it replaces, its part number's exclusively.
	unlockUpload := s.lockName(s.uploadName(bucket, key, uploadID), true)
	defer unlockUpload()
	err = s.replacingWith(ctx, s.uploadName(bucket, key, uploadID)+"#"+strconv.Itoa(number), oldPart, func() (effect, error) {
		var err error
		if sent != nil {
			p, err = s.putTrailedPart(ctx, name, uploadID, number, sent, size)
		} else {
			p, err = s.core.PutObjectPart(ctx, s.bucket, name, uploadID, number, sb, size, popts)
		}
		handed, ferr := sb.end()
		if ferr != nil {
			return effect{}, ferr
		}
		if err != nil {
			return effect{}, s.mapErr(err)
		}
		// The part is stored: it counts.
		e := effect{added: store.PartCost(size)}
		if !handed {
			return e, errors.New("upstream: the upstream stored a part without reading its whole body")
		}
		// The part it replaced is gone, unless the upstream keeps both
		// until the upload completes (SeaweedFS stores every upload of
		// a part as a file of its own): then nothing is credited.
		e.noCredit = replaced && s.keepsReplacedPart(ctx, name, uploadID, number)
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	if sent != nil {
		if err := confirmCRC(p.ChecksumCRC32C, sent.sum, true); err != nil {
			return nil, err
		}
	}
	etag, err := s.storedETag(p.ETag, sums.MD5)
	if err != nil {
		return nil, err
	}
	part := &store.Part{Number: number, Size: size, ETag: etag, LastModified: time.Now().UTC()}
	if rec.Alg != "" {
		if sums.Checksum.Algorithm != rec.Alg || sums.Checksum.Value == "" {
			return nil, fmt.Errorf("upstream: part checksum %q, want the upload's %s", sums.Checksum.Algorithm, rec.Alg)
		}
		part.Checksum = sums.Checksum.Value
		name := s.psumsBase(uploadID) + psumName(number, etag, part.Checksum)
		if _, err := s.core.PutObject(ctx, s.bucket, name, bytes.NewReader(nil), 0, "", "", minio.PutObjectOptions{}); err != nil {
			return nil, s.mapErr(err)
		}
	}
	return part, nil
}

// keepsReplacedPart reports whether the upstream upload lists part number
// more than once (the upload of a part did not replace the one before it).
// An error counts as kept: the credit is then only deferred to the next
// scan.
func (s *Store) keepsReplacedPart(ctx context.Context, name, uploadID string, number int) bool {
	ps, err := s.partsNumbered(ctx, name, uploadID, number, 2)
	return err != nil || len(ps) != 1
}

// partsNumbered returns up to max of the upstream upload's entries of part
// number (SeaweedFS lists every upload of a part number until completion;
// others list one).
func (s *Store) partsNumbered(ctx context.Context, name, uploadID string, number, max int) ([]minio.ObjectPart, error) {
	var out []minio.ObjectPart
	// MinIO answers nothing when the marker is not an uploaded part (parts
	// sent out of order): then the parts are read from the start.
	for marker, limit := number-1, max; ; limit = 1000 {
		res, err := s.core.ListObjectParts(ctx, s.bucket, name, uploadID, marker, limit)
		if err != nil {
			return out, err
		}
		for _, p := range res.ObjectParts {
			if p.PartNumber > number {
				return out, nil
			}
			if p.PartNumber == number {
				if out = append(out, p); len(out) == max {
					return out, nil
				}
			}
		}
		switch {
		case len(res.ObjectParts) == 0 && marker == number-1 && marker > 0:
			marker = 0
		case !res.IsTruncated || len(res.ObjectParts) == 0:
			return out, nil
		default:
			marker = res.NextPartNumberMarker
		}
	}
}

// upParts lists every part of the upstream upload (ascending) with their
// checksums.
func (s *Store) upParts(ctx context.Context, bucket, key, id string, rec *uploadRecord, after, limit int) ([]store.Part, bool, error) {
	var out []store.Part
	marker := after
	scanned := false
	for {
		want := 1000
		if limit > 0 {
			want = min(1000, limit-len(out))
		}
		res, err := s.core.ListObjectParts(ctx, s.bucket, s.dataName(bucket, key), id, marker, want)
		if err != nil {
			return nil, false, s.mapErr(err)
		}
		if len(res.ObjectParts) == 0 && marker > 0 && marker == after && !scanned {
			// MinIO answers nothing when the marker is not an uploaded
			// part: list from the start and skip to it.
			scanned = true
			all, _, err := s.upParts(ctx, bucket, key, id, &uploadRecord{}, 0, 0)
			if err != nil {
				return nil, false, err
			}
			for _, p := range all {
				if p.Number > after {
					out = append(out, p)
				}
			}
			break
		}
		for _, p := range res.ObjectParts {
			out = append(out, store.Part{Number: p.PartNumber, Size: p.Size, ETag: trimETag(p.ETag), LastModified: p.LastModified})
		}
		if !res.IsTruncated || len(res.ObjectParts) == 0 {
			break
		}
		if limit > 0 && len(out) >= limit {
			break
		}
		marker = res.NextPartNumberMarker
	}
	truncated := false
	if scanned && limit > 0 && len(out) > limit {
		truncated = true
		out = out[:limit]
	} else if !scanned && limit > 0 && len(out) >= limit {
		// Is there another part?
		res, err := s.core.ListObjectParts(ctx, s.bucket, s.dataName(bucket, key), id, out[len(out)-1].Number, 1)
		if err != nil {
			return nil, false, s.mapErr(err)
		}
		truncated = len(res.ObjectParts) > 0
		out = out[:limit]
	}
	if rec.Alg != "" && len(out) > 0 {
		sums, err := s.partSums(ctx, id)
		if err != nil {
			return nil, false, err
		}
		for i := range out {
			out[i].Checksum = sums[psumKey(out[i].Number, out[i].ETag)]
		}
	}
	return out, truncated, nil
}

func psumKey(n int, etag string) string { return strconv.Itoa(n) + "." + etag }

// partSums reads the checksums of an upload's parts: "n.etag" -> value.
func (s *Store) partSums(ctx context.Context, id string) (map[string]string, error) {
	base := s.psumsBase(id)
	out := map[string]string{}
	err := s.listAll(ctx, base, "", func(o minio.ObjectInfo) bool {
		f := strings.SplitN(o.Key[len(base):], ".", 3)
		if len(f) == 3 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				out[psumKey(n, f[1])] = b64url2std(f[2])
			}
		}
		return true
	})
	return out, err
}

// ListParts lists parts after `after`.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, after, limit int) (*store.PartsPage, error) {
	rec, err := s.getUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	parts, truncated, err := s.upParts(ctx, bucket, key, uploadID, rec, after, limit)
	if err != nil {
		return nil, err
	}
	page := &store.PartsPage{
		Upload: store.Upload{Key: key, UploadID: uploadID, Initiated: rec.Initiated, Meta: rec.Meta,
			ChecksumAlgorithm: rec.Alg, ChecksumType: rec.Typ},
		Parts:     parts,
		Truncated: truncated,
	}
	if len(parts) > 0 {
		page.Next = parts[len(parts)-1].Number
	}
	return page, nil
}

// CompleteMultipartUpload validates the parts, writes the completion
// record (part list and checksum), then completes upstream with the
// conditions as If-Match / If-None-Match, so racing writers cannot both
// win.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, in store.CompleteInput) (*store.Object, error) {
	if in.Encryption != "" {
		return nil, fmt.Errorf("upstream: objects are not encrypted in upstream mode: %w", store.ErrNotSupported)
	}
	rec, err := s.getUpload(ctx, bucket, key, uploadID)
	if errors.Is(err, store.ErrNoSuchUpload) {
		return s.completedBefore(ctx, bucket, key, uploadID, parts)
	}
	if err != nil {
		return nil, err
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("upstream: no parts: %w", store.ErrInvalidPart)
	}
	for i := 1; i < len(parts); i++ {
		if parts[i].Number <= parts[i-1].Number {
			return nil, fmt.Errorf("upstream: %w", store.ErrInvalidPartOrder)
		}
	}
	all, _, err := s.upParts(ctx, bucket, key, uploadID, rec, 0, 0)
	if err != nil {
		return nil, err
	}
	byNum := map[int]store.Part{}
	var listed int64 // the parts' bytes, all gone from the upload once it completes
	for _, p := range all {
		byNum[p.Number] = p
		listed += store.PartCost(p.Size)
	}
	mp := &mpRecord{UploadID: uploadID}
	etag := md5.New()
	var sums []checksum.PartSum
	var tooSmall error
	var size int64
	var cps []minio.CompletePart
	for i, cp := range parts {
		p, ok := byNum[cp.Number]
		if !ok {
			return nil, fmt.Errorf("upstream: part %d was not uploaded: %w", cp.Number, store.ErrInvalidPart)
		}
		if strings.Trim(cp.ETag, `"`) != p.ETag {
			return nil, fmt.Errorf("upstream: part %d has another ETag: %w", cp.Number, store.ErrInvalidPart)
		}
		if rec.Alg != "" && p.Checksum == "" {
			return nil, fmt.Errorf("upstream: part %d has no recorded checksum: %w", cp.Number, store.ErrInvalidPart)
		}
		if cp.Checksum != "" && cp.Checksum != p.Checksum {
			return nil, fmt.Errorf("upstream: part %d has another checksum: %w", cp.Number, store.ErrInvalidPart)
		}
		if i < len(parts)-1 && p.Size < store.MinPartSize && tooSmall == nil {
			tooSmall = fmt.Errorf("upstream: part %d has %d bytes: %w", cp.Number, p.Size, store.ErrEntityTooSmall)
		}
		raw, _ := hex.DecodeString(p.ETag)
		etag.Write(raw)
		size += p.Size
		mp.Parts = append(mp.Parts, p)
		sums = append(sums, checksum.PartSum{Value: p.Checksum, Size: p.Size})
		cps = append(cps, minio.CompletePart{PartNumber: p.Number, ETag: p.ETag})
	}
	if tooSmall != nil {
		return nil, tooSmall
	}
	mp.ETag = hex.EncodeToString(etag.Sum(nil)) + "-" + strconv.Itoa(len(parts))
	if rec.Alg != "" {
		v, err := checksum.Combine(rec.Alg, rec.Typ, sums)
		if err != nil {
			return nil, fmt.Errorf("upstream: %v: %w", err, store.ErrInvalidPart)
		}
		mp.Sum = store.Checksum{Algorithm: rec.Alg, Type: rec.Typ, Value: v}
	}
	j, _ := json.Marshal(mp)
	if _, err := s.core.PutObject(ctx, s.bucket, s.mpName(rec.Token), bytes.NewReader(j), int64(len(j)), "", "",
		minio.PutObjectOptions{ContentType: "application/json"}); err != nil {
		return nil, s.mapErr(err)
	}
	cond, err := s.pinCond(ctx, bucket, key, in.Cond)
	if err != nil {
		return nil, err
	}
	opts := minio.PutObjectOptions{}
	setCond(&opts, cond)
	name := s.dataName(bucket, key)
	var info minio.UploadInfo
	var retried *store.Object
	err = s.replacing(ctx, name, key, func() (effect, error) {
		done := s.gates.write(name)
		var err error
		info, err = s.core.CompleteMultipartUpload(ctx, s.bucket, name, uploadID, cps, opts)
		done()
		if err != nil {
			if isCode(err, "NoSuchUpload") {
				// A retried request whose first attempt completed?
				if o, serr := s.statObject(ctx, bucket, key); serr == nil && o.ETag == mp.ETag {
					if b, _ := s.blobOf(ctx, bucket, key); b != nil && b.Token == rec.Token {
						retried = o
						return effect{noCredit: true}, nil
					}
				}
			}
			return effect{}, s.condErr(ctx, err, cond, bucket, key)
		}
		e := effect{added: size, freed: listed + store.UploadCost(key, &rec.Meta), objs: 1}
		if got := trimETag(info.ETag); got != mp.ETag {
			return e, fmt.Errorf("upstream: completed ETag %s, want %s", got, mp.ETag)
		}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	if retried != nil {
		s.forgetUpload(bucket, key, uploadID, rec)
		return retried, nil
	}
	s.mpCache.put(rec.Token, mp)
	s.forgetUpload(bucket, key, uploadID, rec)
	b := &blob{Meta: rec.Meta}
	o := &store.Object{Key: key, Size: size, ETag: mp.ETag, LastModified: info.LastModified, Meta: b.Meta,
		Checksum: mp.Sum, Parts: mp.Parts, UploadID: uploadID}
	if s.versioned() {
		if err := s.lockWritten(ctx, bucket, key, info.VersionID, &o.Meta); err != nil {
			return nil, err
		}
		if o.VersionID, err = s.settle(ctx, bucket, key, info.VersionID); err != nil {
			return nil, err
		}
	}
	if o.LastModified.IsZero() {
		if cur, err := s.core.StatObject(ctx, s.bucket, s.dataName(bucket, key), minio.StatObjectOptions{VersionID: info.VersionID}); err == nil && trimETag(cur.ETag) == mp.ETag {
			o.LastModified = cur.LastModified
		} else {
			o.LastModified = time.Now().UTC()
		}
	}
	return o, nil
}

// completedBefore answers a CompleteMultipartUpload repeated after it
// succeeded (an SDK retries when the answer was lost): while the object it
// made is the key's current version (its completion record names the
// upload) and the same parts are listed, the object; otherwise
// ErrNoSuchUpload.
func (s *Store) completedBefore(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart) (*store.Object, error) {
	noUpload := fmt.Errorf("upstream: %w", store.ErrNoSuchUpload)
	info, err := s.core.StatObject(ctx, s.bucket, s.dataName(bucket, key), minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return nil, noUpload
		}
		return nil, s.mapErr(err)
	}
	b, err := decodeBlob(info.Metadata)
	if err != nil || b.Token == "" || !strings.Contains(info.ETag, "-") {
		return nil, noUpload
	}
	mp, err := s.loadMP(ctx, b.Token)
	if err != nil {
		return nil, err
	}
	if mp == nil || mp.UploadID != uploadID || mp.ETag != trimETag(info.ETag) || len(mp.Parts) != len(parts) {
		return nil, noUpload
	}
	for i, p := range mp.Parts {
		cp := parts[i]
		if cp.Number != p.Number || strings.Trim(cp.ETag, `" `) != p.ETag || (cp.Checksum != "" && cp.Checksum != p.Checksum) {
			return nil, noUpload
		}
	}
	o, err := s.describe(ctx, bucket, key, info)
	if err != nil {
		return nil, err
	}
	return o, s.stamp(ctx, bucket, o, info.VersionID)
}

func (s *Store) blobOf(ctx context.Context, bucket, key string) (*blob, error) {
	info, err := s.core.StatObject(ctx, s.bucket, s.dataName(bucket, key), minio.StatObjectOptions{})
	if err != nil {
		return nil, err
	}
	return decodeBlob(info.Metadata)
}

// forgetUpload removes an upload's record and part checksums.
func (s *Store) forgetUpload(bucket, key, id string, rec *uploadRecord) {
	s.removeQuiet(s.uploadName(bucket, key, id))
	if rec.Alg == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var names []string
	s.listAll(ctx, s.psumsBase(id), "", func(o minio.ObjectInfo) bool {
		names = append(names, o.Key)
		return true
	})
	for _, n := range names {
		s.removeQuiet(n)
	}
}

// AbortMultipartUpload discards an upload.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	rec, err := s.getUpload(ctx, bucket, key, uploadID)
	if err != nil {
		return err
	}
	name := s.dataName(bucket, key)
	// While a cached usage is live, the parts are listed first (aborts of
	// the upload through this Store held back meanwhile) and credited once
	// the abort has removed them.
	var parts int64
	var found bool
	if s.usageLive() {
		unlock := s.lockKey(s.uploadName(bucket, key, uploadID))
		defer unlock()
		parts, found, _ = s.partsCost(ctx, name, uploadID)
	}
	err = s.core.AbortMultipartUpload(ctx, s.bucket, name, uploadID)
	if err != nil && !isCode(err, "NoSuchUpload") {
		return s.mapErr(err)
	}
	if err == nil && found {
		s.account(effect{freed: parts + store.UploadCost(key, &rec.Meta)})
	}
	s.forgetUpload(bucket, key, uploadID, rec)
	return nil
}

type upEntry struct {
	key, id   string
	initiated time.Time
}

// ListMultipartUploads lists the upload records of the bucket under the
// prefix (MinIO lists upstream uploads only per exact object name), sorts
// them by key and initiation, and applies markers and the delimiter. Its
// cost is proportional to the in-progress uploads under the prefix.
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string, opts store.UploadsOptions) (*store.UploadsPage, error) {
	if err := s.checkBucket(ctx, bucket); err != nil {
		return nil, err
	}
	if noKeyUnder(opts.Prefix) {
		return &store.UploadsPage{}, nil
	}
	limit := opts.Limit
	if limit <= 0 || limit > store.MaxListKeys {
		limit = store.MaxListKeys
	}
	base := s.uploadsBase(bucket)
	var ups []upEntry
	err := s.listAll(ctx, base+enc(opts.Prefix), "", func(o minio.ObjectInfo) bool {
		rest := o.Key[len(base):]
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return true
		}
		key, ok1 := dec(rest[:i])
		id, ok2 := dec(rest[i+1:])
		if ok1 && ok2 && strings.HasPrefix(key, opts.Prefix) {
			ups = append(ups, upEntry{key: key, id: id, initiated: o.LastModified})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(ups, func(i, j int) bool {
		a, b := ups[i], ups[j]
		if a.key != b.key {
			return a.key < b.key
		}
		if !a.initiated.Equal(b.initiated) {
			return a.initiated.Before(b.initiated)
		}
		return a.id < b.id
	})
	// Markers: after KeyMarker (and past its common prefix, if it rolls
	// up into one), or within KeyMarker after UploadIDMarker.
	skipCP, hasCP := store.CommonPrefix(opts.KeyMarker, opts.Prefix, opts.Delimiter)
	var cand []upEntry
	markerSeen := false
	for _, u := range ups {
		if opts.KeyMarker != "" {
			if hasCP && strings.HasPrefix(u.key, skipCP) {
				continue
			}
			if u.key < opts.KeyMarker {
				continue
			}
			if u.key == opts.KeyMarker {
				if opts.UploadIDMarker == "" || markerSeen == false {
					markerSeen = markerSeen || u.id == opts.UploadIDMarker
					continue
				}
			}
		}
		cand = append(cand, u)
	}
	page := &store.UploadsPage{}
	var shown []upEntry
	lastCP := ""
	n := 0
	for _, u := range cand {
		if cp, ok := store.CommonPrefix(u.key, opts.Prefix, opts.Delimiter); ok {
			if cp == lastCP {
				continue
			}
			if n == limit {
				page.Truncated = true
				break
			}
			n++
			lastCP = cp
			page.CommonPrefixes = append(page.CommonPrefixes, cp)
			page.NextKeyMarker, page.NextUploadIDMarker = cp, ""
			continue
		}
		if n == limit {
			page.Truncated = true
			break
		}
		n++
		shown = append(shown, u)
		page.NextKeyMarker, page.NextUploadIDMarker = u.key, u.id
	}
	// Metadata from the records, a few at a time.
	page.Uploads = make([]store.Upload, len(shown))
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 8)
	for i, u := range shown {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			up := store.Upload{Key: u.key, UploadID: u.id, Initiated: u.initiated}
			rec, err := s.getUpload(ctx, bucket, u.key, u.id)
			switch {
			case err == nil:
				up.Meta, up.ChecksumAlgorithm, up.ChecksumType = rec.Meta, rec.Alg, rec.Typ
			case errors.Is(err, store.ErrNoSuchUpload):
				// Completed or aborted meanwhile: listed without metadata.
			default:
				mu.Lock()
				if firstErr == nil {
					firstErr = err
				}
				mu.Unlock()
			}
			page.Uploads[i] = up
		})
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return page, nil
}
