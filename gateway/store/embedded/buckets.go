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
	err := s.update(func(tx *bbolt.Tx) error {
		res = nil
		b := bucketOf(tx, bucket)
		switch {
		case b == nil:
			res = store.ErrNoSuchBucket
			return nil
		case !empty(b.Bucket(keyObjects)) || !empty(b.Bucket(keyUploads)):
			res = store.ErrBucketNotEmpty
			return nil
		}
		if err := tx.Bucket(bktBuckets).DeleteBucket([]byte(bucket)); err != nil {
			return err
		}
		return addUsage(tx, -store.BucketCost(bucket), 0)
	})
	if err != nil {
		return fmt.Errorf("embedded: delete bucket: %w", err)
	}
	return res
}

func empty(b *bbolt.Bucket) bool {
	k, _ := b.Cursor().First()
	return k == nil
}

func bucketInfo(name string, b *bbolt.Bucket) store.Bucket {
	ns, _ := binary.Varint(b.Get(keyCreated))
	return store.Bucket{Name: name, Created: unixTime(ns)}
}

// checkNames validates a bucket name and an object key.
func checkNames(bucket, key string) error {
	if !store.ValidBucketName(bucket) {
		return store.ErrInvalidBucketName
	}
	if !store.ValidKey(key) {
		return store.ErrInvalidKey
	}
	return nil
}
