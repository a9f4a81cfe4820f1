package embedded

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// ListBuckets returns all buckets sorted by name.
func (s *Store) ListBuckets(ctx context.Context) ([]store.Bucket, error) {
	var out []store.Bucket
	err := s.view(func(tx *bbolt.Tx) error {
		all := tx.Bucket(bktBuckets)
		return all.ForEachBucket(func(name []byte) error {
			out = append(out, bucketInfo(string(name), all.Bucket(name)))
			return nil
		})
	})
	return out, err
}

// CreateBucket creates an empty bucket.
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	if !store.ValidBucketName(bucket) {
		return store.ErrInvalidBucketName
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	var res error
	err := s.update(func(tx *bbolt.Tx) error {
		res = nil
		all := tx.Bucket(bktBuckets)
		if all.Bucket([]byte(bucket)) != nil {
			res = store.ErrBucketExists
			return nil
		}
		b, err := all.CreateBucket([]byte(bucket))
		if err != nil {
			return err
		}
		if _, err := b.CreateBucket(keyObjects); err != nil {
			return err
		}
		if _, err := b.CreateBucket(keyUploads); err != nil {
			return err
		}
		if err := b.Put(keyCreated, binary.AppendVarint(nil, time.Now().UnixNano())); err != nil {
			return err
		}
		return addUsage(tx, store.BucketCost(bucket), 0)
	})
	if err != nil {
		return fmt.Errorf("embedded: create bucket: %w", err)
	}
	return res
}

// HeadBucket returns the bucket or ErrNoSuchBucket.
func (s *Store) HeadBucket(ctx context.Context, bucket string) (store.Bucket, error) {
	if !store.ValidBucketName(bucket) {
		return store.Bucket{}, store.ErrInvalidBucketName
	}
	var out store.Bucket
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketOf(tx, bucket)
		if b == nil {
			return store.ErrNoSuchBucket
		}
		out = bucketInfo(bucket, b)
		return nil
	})
	return out, err
}

// DeleteBucket removes an empty bucket.
func (s *Store) DeleteBucket(ctx context.Context, bucket string) error {
	if !store.ValidBucketName(bucket) {
		return store.ErrInvalidBucketName
	}
	if err := s.begin(); err != nil {
		return err
	}
	defer s.end()
	var res error
	var parts []fileID
	err := s.update(func(tx *bbolt.Tx) (err error) {
		res, parts = nil, nil
		b := bucketOf(tx, bucket)
		switch {
		case b == nil:
			res = store.ErrNoSuchBucket
			return nil
		case !empty(b.Bucket(keyObjects)) || !empty(b.Bucket(keyVersions)):
			res = store.ErrBucketNotEmpty
			return nil
		}
		if parts, err = dropUploads(tx, b.Bucket(keyUploads)); err != nil {
			return err
		}
		configs := configsCost(b)
		if err := tx.Bucket(bktBuckets).DeleteBucket([]byte(bucket)); err != nil {
			return err
		}
		return addUsage(tx, -store.BucketCost(bucket)-configs, 0)
	})
	if err != nil {
		return fmt.Errorf("embedded: delete bucket: %w", err)
	}
	if res != nil {
		return res
	}
	s.release(parts)
	return nil
}

// dropUploads deletes the part records of every upload in ups (a bucket's
// uploads index, deleted with the bucket), uncounts their charges (as
// AbortMultipartUpload does) and returns their files, to release after the
// commit.
func dropUploads(tx *bbolt.Tx, ups *bbolt.Bucket) ([]fileID, error) {
	var files []fileID
	var size int64
	c := ups.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var id uploadID
		if len(k) < len(id)+1 {
			return nil, errCorrupt
		}
		copy(id[:], k[len(k)-len(id):])
		up, err := decodeUpload(v)
		if err != nil {
			return nil, err
		}
		size += store.UploadCost(string(k[:len(k)-len(id)-1]), &up.meta)
		all, err := partsOf(tx, id)
		if err != nil {
			return nil, err
		}
		for _, p := range all {
			size += store.PartCost(p.rec.size)
			files = append(files, p.rec.file)
			if err := tx.Bucket(bktParts).Delete(p.key); err != nil {
				return nil, err
			}
		}
	}
	return files, addUsage(tx, -size, 0)
}

// empty reports whether b (which may be nil) holds no entry.
func empty(b *bbolt.Bucket) bool {
	if b == nil {
		return true
	}
	k, _ := b.Cursor().First()
	return k == nil
}

func bucketInfo(name string, b *bbolt.Bucket) store.Bucket {
	ns, _ := binary.Varint(b.Get(keyCreated))
	return store.Bucket{Name: name, Created: unixTime(ns)}
}
