package embedded

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"hash"
	"io"
	"time"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/store"
)

// CopyObject copies src to dst (which may be the same key).
//
// Data files are immutable, so the copy shares them: each of the source's
// files gets a new name, a hard link to the same inode, and the copy costs
// O(1) in bytes whatever its size (the filesystem counts the references;
// deleting either object removes only its own names). Bytes are read only
// when the copy's digests differ from the source's: a multipart source's
// ETag is not the MD5 of its bytes, a COMPOSITE checksum must be
// recomputed as FULL_OBJECT, and in.ChecksumAlgorithm may ask for another
// algorithm. If linking fails (a filesystem without hard
// links, too many links), the bytes are streamed into a new file.
func (s *Store) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, in store.CopyInput) (*store.Object, error) {
	if err := store.CheckNames(srcBucket, srcKey); err != nil {
		return nil, err
	}
	if err := store.CheckNames(dstBucket, dstKey); err != nil {
		return nil, err
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	if err := s.bucketExists(dstBucket); err != nil {
		return nil, err
	}
	src, err := s.openObject(srcBucket, srcKey, in.SrcVersionID, true)
	if err != nil {
		return nil, err
	}
	defer src.close()
	if in.SrcCheck != nil {
		if err := in.SrcCheck(src.obj); err != nil {
			return nil, err
		}
	}
	rec := &objRecord{
		size:  src.rec.size,
		mtime: time.Now().UnixNano(),
		md5:   src.rec.md5,
		meta:  src.rec.meta,
		sum:   src.rec.sum,
	}
	if in.Meta != nil {
		rec.meta = *in.Meta
	}
	if in.Attrs != nil {
		a := in.Attrs(src.obj)
		rec.meta.CopyAttrs(&a)
	}
	needMD5 := src.rec.etagParts > 0
	var sumHash hash.Hash
	alg := in.ChecksumAlgorithm
	if alg == "" {
		alg = rec.sum.Algorithm
	}
	if alg != "" && (alg != rec.sum.Algorithm || rec.sum.Type != store.FullObject) {
		if sumHash, err = checksum.New(alg); err != nil {
			return nil, err
		}
		rec.sum = store.Checksum{Algorithm: alg}
	}
	switch {
	case src.rec.inline:
		rec.inline, rec.data = true, src.rec.data
	default:
		rec.segs, err = s.linkSegments(src.pinned)
		if err != nil {
			s.log.Debug("embedded: copy by link failed, copying bytes", zap.Error(err))
			r, err := s.copyBytes(ctx, src, rec, needMD5, sumHash)
			if err != nil {
				return nil, err
			}
			needMD5, sumHash = false, nil
			rec.md5, rec.sum = r.md5, r.sum
			rec.inline, rec.data, rec.segs = r.inline, r.data, nil
			if !r.inline {
				rec.segs = []segment{{id: r.file, size: r.size}}
			}
		}
	}
	if needMD5 || sumHash != nil {
		if err := hashSource(src, rec, needMD5, sumHash); err != nil {
			s.discard(rec.files()...)
			return nil, err
		}
	}
	if err := ctx.Err(); err != nil {
		s.discard(rec.files()...)
		return nil, err
	}
	if err := s.commitObject(dstBucket, dstKey, rec, in.Cond); err != nil {
		s.discard(rec.files()...)
		return nil, err
	}
	return rec.object(dstKey), nil
}

// linkSegments gives each (pinned) segment file a new name and makes the
// names durable.
func (s *Store) linkSegments(segs []segment) ([]segment, error) {
	out := make([]segment, 0, len(segs))
	fail := func(err error) ([]segment, error) {
		for _, sg := range out {
			s.discard(sg.id)
		}
		return nil, err
	}
	for _, sg := range segs {
		id := newFileID()
		if err := s.linkFile(sg.id, id); err != nil {
			return fail(err)
		}
		out = append(out, segment{id: id, size: sg.size})
	}
	synced := map[byte]bool{}
	for _, sg := range out {
		if !synced[sg.id[0]] {
			synced[sg.id[0]] = true
			if err := s.syncNew(sg.id); err != nil {
				return fail(err)
			}
		}
	}
	return out, nil
}

// hashSource reads the source's bytes to set rec's MD5 and/or full-object
// checksum.
func hashSource(src *source, rec *objRecord, needMD5 bool, sumHash hash.Hash) error {
	r, err := src.reader(0, src.rec.size)
	if err != nil {
		return err
	}
	defer r.Close()
	var ws []io.Writer
	m := md5.New()
	if needMD5 {
		ws = append(ws, m)
	}
	if sumHash != nil {
		ws = append(ws, sumHash)
	}
	n, err := copyPooled(io.MultiWriter(ws...), r)
	if err != nil {
		return err
	}
	if n != src.rec.size {
		return errors.New("embedded: source shorter than its record")
	}
	if needMD5 {
		copy(rec.md5[:], m.Sum(nil))
	}
	if sumHash != nil {
		rec.sum = store.Checksum{Algorithm: rec.sum.Algorithm, Type: store.FullObject,
			Value: base64.StdEncoding.EncodeToString(sumHash.Sum(nil))}
	}
	return nil
}

// copyBytes streams the source into a new data file (or inline), computing
// the digests the copy needs as it goes.
func (s *Store) copyBytes(ctx context.Context, src *source, rec *objRecord, needMD5 bool, sumHash hash.Hash) (*received, error) {
	r, err := src.reader(0, src.rec.size)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m := md5.New()
	var body io.Reader = io.TeeReader(r, m)
	if sumHash != nil {
		body = io.TeeReader(body, sumHash)
	}
	return s.receive(ctx, store.PutInput{Body: body, Size: src.rec.size, Sums: func() store.Sums {
		sums := store.Sums{MD5: rec.md5[:], Checksum: rec.sum}
		if needMD5 {
			sums.MD5 = m.Sum(nil)
		}
		if sumHash != nil {
			sums.Checksum = store.Checksum{Algorithm: rec.sum.Algorithm, Type: store.FullObject,
				Value: base64.StdEncoding.EncodeToString(sumHash.Sum(nil))}
		}
		return sums
	}}, true)
}
