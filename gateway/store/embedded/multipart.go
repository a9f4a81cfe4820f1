package embedded

import (
	"bytes"
	"context"
	"crypto/md5"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/store"
)

// Multipart uploads. An upload is a record in its bucket's uploads index;
// each part is a data file plus a record in the parts index. Completing an
// upload copies no bytes: the object record lists the part files as its
// segments, in order, and one transaction writes it and deletes the upload
// and its part records. Unlisted parts' files are removed after the commit.

// uploadID is an upload's id: the initiation time (Unix ns, big endian, so
// ids of one key sort by initiation) and 16 random bytes. Its string form
// is unpadded URL-safe base64 (32 characters).
type uploadID [24]byte

func newUploadID(now time.Time) uploadID {
	var id uploadID
	binary.BigEndian.PutUint64(id[:8], uint64(now.UnixNano()))
	_, _ = rand.Read(id[8:])
	return id
}

func (id uploadID) String() string { return base64.RawURLEncoding.EncodeToString(id[:]) }

func (id uploadID) initiated() time.Time {
	return unixTime(int64(binary.BigEndian.Uint64(id[:8])))
}

func parseUploadID(s string) (uploadID, bool) {
	var id uploadID
	if len(s) != base64.RawURLEncoding.EncodedLen(len(id)) {
		return id, false
	}
	n, err := base64.RawURLEncoding.Strict().Decode(id[:], []byte(s))
	return id, err == nil && n == len(id)
}

func (u *uploadRecord) upload(key string, id uploadID) store.Upload {
	return store.Upload{
		Key:               key,
		UploadID:          id.String(),
		Initiated:         id.initiated(),
		Meta:              u.meta,
		ChecksumAlgorithm: u.alg,
		ChecksumType:      u.typ,
	}
}

// CreateMultipartUpload starts an upload and returns its id.
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key string, in store.UploadInput) (string, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return "", err
	}
	typ, err := checksum.UploadType(in.ChecksumAlgorithm, in.ChecksumType)
	if err != nil {
		return "", err
	}
	rec := &uploadRecord{meta: in.Meta, alg: in.ChecksumAlgorithm, typ: typ}
	if err := s.begin(); err != nil {
		return "", err
	}
	defer s.end()
	id := newUploadID(time.Now())
	enc := rec.encode()
	var res error
	err = s.update(func(tx *bbolt.Tx) error {
		res = nil
		ups := uploadsOf(tx, bucket)
		if ups == nil {
			res = store.ErrNoSuchBucket
			return nil
		}
		if err := ups.Put(uploadKey(key, id), enc); err != nil {
			return err
		}
		return addUsage(tx, store.UploadCost(key, &rec.meta), 0)
	})
	if err != nil {
		return "", fmt.Errorf("embedded: create upload: %w", err)
	}
	if res != nil {
		return "", res
	}
	return id.String(), nil
}

// getUpload returns the upload record, ErrNoSuchBucket or ErrNoSuchUpload.
func getUpload(tx *bbolt.Tx, bucket, key string, id uploadID) (*bbolt.Bucket, *uploadRecord, error) {
	ups := uploadsOf(tx, bucket)
	if ups == nil {
		return nil, nil, store.ErrNoSuchBucket
	}
	v := ups.Get(uploadKey(key, id))
	if v == nil {
		return nil, nil, store.ErrNoSuchUpload
	}
	u, err := decodeUpload(v)
	return ups, u, err
}

// UploadPart stores part number of the upload, replacing an earlier part
// with the same number. Parts always live in data files (they become the
// object's segments).
func (s *Store) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, in store.PutInput) (*store.Part, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	if number < 1 || number > store.MaxPartNumber {
		return nil, fmt.Errorf("embedded: part number %d out of range: %w", number, store.ErrInvalidPart)
	}
	id, ok := parseUploadID(uploadID)
	if !ok {
		return nil, store.ErrNoSuchUpload
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	var up *uploadRecord
	err := s.db.View(func(tx *bbolt.Tx) (err error) {
		_, up, err = getUpload(tx, bucket, key, id)
		return err
	})
	if err != nil {
		return nil, err
	}
	r, err := s.receive(ctx, in, false)
	if err != nil {
		return nil, err
	}
	rec := &partRecord{size: r.size, md5: r.md5, mtime: time.Now().UnixNano(), file: r.file}
	if up.alg != "" {
		rec.checksum = r.sum.Value
		if r.sum.Algorithm != up.alg {
			// The body's digests lack the upload's algorithm: compute it
			// from the file, which is in the page cache.
			if rec.checksum, err = s.fileChecksum(r.file, up.alg); err != nil {
				s.discard(r.file)
				return nil, err
			}
		}
	}
	enc := rec.encode()
	var old []fileID
	var res error
	err = s.update(func(tx *bbolt.Tx) error {
		old, res = nil, nil
		if _, _, res = getUpload(tx, bucket, key, id); res != nil {
			if res != store.ErrNoSuchBucket && res != store.ErrNoSuchUpload {
				return res
			}
			return nil
		}
		parts := tx.Bucket(bktParts)
		pk := partKey(id, number)
		var oldCost int64
		if v := parts.Get(pk); v != nil {
			p, err := decodePart(v)
			if err != nil {
				return err
			}
			old, oldCost = []fileID{p.file}, store.PartCost(p.size)
		}
		if err := parts.Put(pk, enc); err != nil {
			return err
		}
		return addUsage(tx, store.PartCost(rec.size)-oldCost, 0)
	})
	if err == nil {
		err = res
	}
	if err != nil {
		s.discard(r.file)
		return nil, err
	}
	s.release(old)
	p := rec.part(number)
	return &p, nil
}

// fileChecksum computes a data file's checksum in algorithm alg.
func (s *Store) fileChecksum(id fileID, alg string) (string, error) {
	h, err := checksum.New(alg)
	if err != nil {
		return "", err
	}
	f, err := s.openFile(id)
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := copyPooled(h, readerOnly{f}); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(h.Sum(nil)), nil
}

// numberedPart is a part record with its number and index key.
type numberedPart struct {
	number int
	key    []byte
	rec    *partRecord
}

// partsOf returns every part of upload id, ascending.
func partsOf(tx *bbolt.Tx, id uploadID) ([]numberedPart, error) {
	var out []numberedPart
	c := tx.Bucket(bktParts).Cursor()
	for k, v := c.Seek(id[:]); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Next() {
		if len(k) != len(id)+4 {
			return nil, errCorrupt
		}
		p, err := decodePart(v)
		if err != nil {
			return nil, err
		}
		out = append(out, numberedPart{number: int(binary.BigEndian.Uint32(k[len(id):])), key: bytes.Clone(k), rec: p})
	}
	return out, nil
}

// CompleteMultipartUpload assembles the listed parts into the object
// without copying their bytes.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, in store.CompleteInput) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	id, ok := parseUploadID(uploadID)
	if !ok {
		return nil, store.ErrNoSuchUpload
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("embedded: no parts listed: %w", store.ErrInvalidPart)
	}
	for i, p := range parts {
		if i > 0 && p.Number <= parts[i-1].Number {
			return nil, store.ErrInvalidPartOrder
		}
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	mtime := time.Now().UnixNano()
	var (
		old []fileID
		res error
		obj *store.Object
	)
	err := s.update(func(tx *bbolt.Tx) (err error) {
		old, res, obj = nil, nil, nil
		ups, up, err := getUpload(tx, bucket, key, id)
		if err == store.ErrNoSuchUpload {
			obj, res, err = completedBefore(tx, bucket, key, id, parts)
			return err
		}
		if err != nil {
			if err == store.ErrNoSuchBucket {
				res = err
				return nil
			}
			return err
		}
		all, err := partsOf(tx, id)
		if err != nil {
			return err
		}
		var rec *objRecord
		var unlisted []fileID
		if rec, unlisted, res = assemble(up, all, parts, mtime); res != nil {
			return nil
		}
		rec.upload = id
		if in.Encryption != "" {
			rec.meta.Encryption = in.Encryption
		}
		var replaced []fileID
		replaced, res, err = writeVersionTx(tx, bucket, key, rec, in.Cond)
		if err != nil || res != nil {
			return err
		}
		if err := ups.Delete(uploadKey(key, id)); err != nil {
			return err
		}
		freed := store.UploadCost(key, &up.meta)
		for _, p := range all {
			freed += store.PartCost(p.rec.size)
			if err := tx.Bucket(bktParts).Delete(p.key); err != nil {
				return err
			}
		}
		if err := addUsage(tx, -freed, 0); err != nil {
			return err
		}
		old = append(replaced, unlisted...)
		obj = rec.object(key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("embedded: complete upload: %w", err)
	}
	if res != nil {
		return nil, res
	}
	s.release(old)
	return obj, nil
}

// completedBefore answers a CompleteMultipartUpload repeated after it
// succeeded (an SDK retries when the answer was lost): while the object it
// made is the key's current version and the same parts are listed, the
// object; otherwise ErrNoSuchUpload. The record of the completed upload is
// the object record itself, so it is bounded by and charged with the object.
func completedBefore(tx *bbolt.Tx, bucket, key string, id uploadID, parts []store.CompletePart) (*store.Object, error, error) {
	vb := openVBucket(tx, bucket)
	if vb == nil {
		return nil, store.ErrNoSuchBucket, nil
	}
	cur, err := vb.current(key, decodeHead)
	if err != nil {
		return nil, nil, err
	}
	if cur == nil || cur.upload != id || len(cur.parts) != len(parts) {
		return nil, store.ErrNoSuchUpload, nil
	}
	for i, p := range cur.parts {
		cp := parts[i]
		if cp.Number != p.number || !etagMatch(cp.ETag, formatETag(p.md5, 0)) || (cp.Checksum != "" && cp.Checksum != p.checksum) {
			return nil, store.ErrNoSuchUpload, nil
		}
	}
	return cur.object(key), nil, nil
}

// assemble validates the listed parts against the uploaded ones (both
// ascending) and builds the object record; it also returns the files of
// the unlisted parts.
func assemble(up *uploadRecord, all []numberedPart, listed []store.CompletePart, mtime int64) (rec *objRecord, unlisted []fileID, res error) {
	rec = &objRecord{
		mtime:     mtime,
		etagParts: len(listed),
		meta:      up.meta,
		parts:     make([]partInfo, 0, len(listed)),
		segs:      make([]segment, 0, len(listed)),
	}
	etag := md5.New()
	var sums []checksum.PartSum
	var tooSmall error // reported once every part is known to be valid
	j := 0
	for i, cp := range listed {
		for j < len(all) && all[j].number < cp.Number {
			unlisted = append(unlisted, all[j].rec.file)
			j++
		}
		if j == len(all) || all[j].number != cp.Number {
			return nil, nil, fmt.Errorf("embedded: part %d was not uploaded: %w", cp.Number, store.ErrInvalidPart)
		}
		p := all[j].rec
		j++
		if !etagMatch(cp.ETag, formatETag(p.md5, 0)) {
			return nil, nil, fmt.Errorf("embedded: part %d has another ETag: %w", cp.Number, store.ErrInvalidPart)
		}
		if cp.Checksum != "" && cp.Checksum != p.checksum {
			return nil, nil, fmt.Errorf("embedded: part %d has another checksum: %w", cp.Number, store.ErrInvalidPart)
		}
		if i < len(listed)-1 && p.size < store.MinPartSize && tooSmall == nil {
			tooSmall = fmt.Errorf("embedded: part %d has %d bytes: %w", cp.Number, p.size, store.ErrEntityTooSmall)
		}
		etag.Write(p.md5[:])
		rec.size += p.size
		rec.parts = append(rec.parts, partInfo{number: cp.Number, size: p.size, md5: p.md5, checksum: p.checksum, mtime: p.mtime})
		rec.segs = append(rec.segs, segment{id: p.file, size: p.size})
		sums = append(sums, checksum.PartSum{Value: p.checksum, Size: p.size})
	}
	if tooSmall != nil {
		return nil, nil, tooSmall
	}
	for ; j < len(all); j++ {
		unlisted = append(unlisted, all[j].rec.file)
	}
	copy(rec.md5[:], etag.Sum(nil))
	if up.alg != "" {
		v, err := checksum.Combine(up.alg, up.typ, sums)
		if err != nil {
			return nil, nil, err
		}
		rec.sum = store.Checksum{Algorithm: up.alg, Type: up.typ, Value: v}
	}
	return rec, unlisted, nil
}

// AbortMultipartUpload discards the upload and its parts.
func (s *Store) AbortMultipartUpload(ctx context.Context, bucket, key, uploadID string) error {
	if err := store.CheckNames(bucket, key); err != nil {
		return err
	}
	id, ok := parseUploadID(uploadID)
	if !ok {
		return store.ErrNoSuchUpload
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	var old []fileID
	var res error
	err := s.update(func(tx *bbolt.Tx) error {
		old, res = nil, nil
		ups, up, err := getUpload(tx, bucket, key, id)
		if err != nil {
			if err == store.ErrNoSuchBucket || err == store.ErrNoSuchUpload {
				res = err
				return nil
			}
			return err
		}
		all, err := partsOf(tx, id)
		if err != nil {
			return err
		}
		if err := ups.Delete(uploadKey(key, id)); err != nil {
			return err
		}
		size := store.UploadCost(key, &up.meta)
		for _, p := range all {
			size += store.PartCost(p.rec.size)
			old = append(old, p.rec.file)
			if err := tx.Bucket(bktParts).Delete(p.key); err != nil {
				return err
			}
		}
		return addUsage(tx, -size, 0)
	})
	if err != nil {
		return fmt.Errorf("embedded: abort upload: %w", err)
	}
	if res != nil {
		return res
	}
	s.release(old)
	return nil
}

// ListParts lists the upload's parts with number > after, ascending.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, after, limit int) (*store.PartsPage, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	id, ok := parseUploadID(uploadID)
	if !ok {
		return nil, store.ErrNoSuchUpload
	}
	limit = listLimit(limit)
	after = max(0, min(after, store.MaxPartNumber))
	page := &store.PartsPage{}
	err := s.view(func(tx *bbolt.Tx) error {
		_, up, err := getUpload(tx, bucket, key, id)
		if err != nil {
			return err
		}
		page.Upload = up.upload(key, id)
		c := tx.Bucket(bktParts).Cursor()
		for k, v := c.Seek(partKey(id, after+1)); k != nil && bytes.HasPrefix(k, id[:]); k, v = c.Next() {
			if len(page.Parts) == limit {
				page.Truncated = true
				break
			}
			p, err := decodePart(v)
			if err != nil {
				return err
			}
			page.Parts = append(page.Parts, p.part(int(binary.BigEndian.Uint32(k[len(id):]))))
			page.Next = page.Parts[len(page.Parts)-1].Number
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
