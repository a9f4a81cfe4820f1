package embedded

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// PutObject stores in.Body under key, replacing any existing object
// atomically. The body is streamed into memory (inline) or a new synced
// data file first; the record is committed afterwards in a grouped index
// transaction, where in.Cond is checked.
func (s *Store) PutObject(ctx context.Context, bucket, key string, in store.PutInput) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	if err := s.begin(); err != nil {
		return nil, err
	}
	defer s.end()
	if err := s.bucketExists(bucket); err != nil {
		return nil, err // fail before reading the body
	}
	r, err := s.receive(ctx, in, true)
	if err != nil {
		return nil, err
	}
	rec := &objRecord{
		size:   r.size,
		mtime:  time.Now().UnixNano(),
		md5:    r.md5,
		meta:   in.Meta,
		sum:    r.sum,
		inline: r.inline,
		data:   r.data,
	}
	if !r.inline {
		rec.segs = []segment{{id: r.file, size: r.size}}
	}
	if err := s.commitObject(bucket, key, rec, in.Cond); err != nil {
		s.discard(rec.files()...)
		return nil, err
	}
	return rec.object(key), nil
}

// commitObject makes rec key's current version if cond holds, in one
// grouped transaction (see writeVersionTx), and then releases the files of
// the versions it replaced. On error nothing was committed.
func (s *Store) commitObject(bucket, key string, rec *objRecord, cond store.Conditions) error {
	var old []fileID
	var res error
	err := s.update(func(tx *bbolt.Tx) (err error) {
		old, res, err = writeVersionTx(tx, bucket, key, rec, cond)
		return err
	})
	if err != nil {
		return fmt.Errorf("embedded: commit %s/%s: %w", bucket, key, err)
	}
	if res != nil {
		return res
	}
	s.release(old)
	return nil
}

// checkConditions evaluates conditional-write checks against the current
// version (nil if the key is absent).
func checkConditions(cur *objRecord, c store.Conditions) error {
	if cur == nil {
		return c.Check(false, "")
	}
	return c.Check(true, cur.etag())
}

// etagMatch compares a client-given ETag (quotes tolerated) with ours.
func etagMatch(given, etag string) bool {
	return strings.EqualFold(strings.Trim(given, `" `), etag)
}

// bucketExists returns ErrNoSuchBucket if bucket is absent.
func (s *Store) bucketExists(bucket string) error {
	return s.db.View(func(tx *bbolt.Tx) error {
		if bucketOf(tx, bucket) == nil {
			return store.ErrNoSuchBucket
		}
		return nil
	})
}

// HeadObject returns the current version's description or ErrNoSuchKey.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (*store.Object, error) {
	return s.HeadObjectVersion(ctx, bucket, key, "")
}

// GetObject opens the object for reading. check sees the exact version the
// reader returns, which stays readable until Close even if the key is
// overwritten or deleted meanwhile. For a single-file object the reader's
// WriteTo copies from an *io.LimitedReader over the *os.File, so io.Copy to
// an http.ResponseWriter (or a *net.TCPConn) uses sendfile.
func (s *Store) GetObject(ctx context.Context, bucket, key string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	return s.GetObjectVersion(ctx, bucket, key, "", check)
}

// GetObjectVersion opens version versionID ("" the current one) as
// GetObject does.
func (s *Store) GetObjectVersion(ctx context.Context, bucket, key, versionID string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, nil, err
	}
	if err := s.begin(); err != nil {
		return nil, nil, err
	}
	defer s.end()
	src, err := s.openObject(bucket, key, versionID, false)
	if err != nil {
		return nil, nil, err
	}
	off, length := int64(0), int64(-1)
	if check != nil {
		if off, length, err = check(src.obj); err != nil {
			src.close()
			return src.obj, nil, err
		}
	}
	size := src.rec.size
	if off < 0 || off > size || length < -1 || length > size-off {
		src.close()
		return src.obj, nil, fmt.Errorf("embedded: range %d+%d of %d bytes: %w", off, length, size, store.ErrInvalidRange)
	}
	if length == -1 {
		length = size - off
	}
	rc, err := src.reader(off, length)
	if err != nil {
		return nil, nil, err
	}
	return src.obj, rc, nil
}

// DeleteObject deletes the key (see DeleteObjectVersion); an absent key
// is not an error.
func (s *Store) DeleteObject(ctx context.Context, bucket, key string) error {
	_, err := s.DeleteObjectVersion(ctx, bucket, key, "")
	return err
}

// Usage reports the bytes and objects stored, from counters kept in the
// index.
func (s *Store) Usage(ctx context.Context) (store.Usage, error) {
	var u store.Usage
	err := s.view(func(tx *bbolt.Tx) error {
		u = readUsage(tx)
		return nil
	})
	return u, err
}
