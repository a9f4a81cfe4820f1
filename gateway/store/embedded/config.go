package embedded

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// keyConfigs is the sub-bucket of a bucket holding its configuration
// documents (buckets/<name>/cfg/<config name>), created on first use.
var keyConfigs = []byte("cfg")

// GetBucketConfig returns the bucket's document name.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, name string) ([]byte, error) {
	if !store.ValidBucketName(bucket) {
		return nil, store.ErrInvalidBucketName
	}
	var doc []byte
	err := s.view(func(tx *bbolt.Tx) error {
		b := bucketOf(tx, bucket)
		if b == nil {
			return store.ErrNoSuchBucket
		}
		cfg := b.Bucket(keyConfigs)
		if cfg == nil {
			return store.ErrNoSuchConfig
		}
		v := cfg.Get([]byte(name))
		if v == nil {
			return store.ErrNoSuchConfig
		}
		doc = append([]byte{}, v...)
		return nil
	})
	return doc, err
}

// PutBucketConfig sets the bucket's document name.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, name string, doc []byte) error {
	if err := store.CheckConfig(name, doc); err != nil {
		return err
	}
	return s.changeConfig(bucket, name, doc)
}

// DeleteBucketConfig removes the bucket's document name.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, name string) error {
	if !store.ValidConfigName(name) {
		return store.CheckConfig(name, nil)
	}
	return s.changeConfig(bucket, name, nil)
}

// changeConfig sets (doc non-nil) or removes the document, adjusting the
// usage by the difference of the charges.
func (s *Store) changeConfig(bucket, name string, doc []byte) error {
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
		if b == nil {
			res = store.ErrNoSuchBucket
			return nil
		}
		if doc != nil {
			if res = checkLockVersioning(b, name, string(b.Get(keyVersioning))); res != nil {
				return nil
			}
		}
		cfg := b.Bucket(keyConfigs)
		if cfg == nil && doc == nil {
			return nil
		}
		if cfg == nil {
			var err error
			if cfg, err = b.CreateBucket(keyConfigs); err != nil {
				return err
			}
		}
		var delta int64
		if old := cfg.Get([]byte(name)); old != nil {
			delta -= store.ConfigCost(name, len(old))
		}
		if doc == nil {
			if err := cfg.Delete([]byte(name)); err != nil {
				return err
			}
		} else {
			if err := cfg.Put([]byte(name), doc); err != nil {
				return err
			}
			delta += store.ConfigCost(name, len(doc))
		}
		return addUsage(tx, delta, 0)
	})
	if err != nil {
		return fmt.Errorf("embedded: bucket configuration: %w", err)
	}
	return res
}

// configsCost is what the configuration documents of bucket b cost.
func configsCost(b *bbolt.Bucket) int64 {
	cfg := b.Bucket(keyConfigs)
	if cfg == nil {
		return 0
	}
	var n int64
	_ = cfg.ForEach(func(k, v []byte) error {
		n += store.ConfigCost(string(k), len(v))
		return nil
	})
	return n
}
