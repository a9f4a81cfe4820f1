package upstream

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
)

// Bucket configuration documents live upstream at P.config/<B>/<name>, so
// that every gateway of the order sees them. Reads are cached for
// BucketCacheTTL: a change made through another gateway shows within it.

// maxCachedConfigs bounds the config cache (entries, present or absent).
const maxCachedConfigs = 4096

func (s *Store) configBase(bucket string) string { return s.pfx + ".config/" + bucket + "/" }

// configCache remembers recently read documents (nil doc: known absent).
type configCache struct {
	mu      sync.Mutex
	entries map[string]cachedConfig
}

type cachedConfig struct {
	doc []byte
	at  time.Time
}

func (c *configCache) get(name string, ttl time.Duration) ([]byte, bool) {
	if ttl <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[name]
	if !ok || time.Since(e.at) >= ttl {
		return nil, false
	}
	return e.doc, true
}

func (c *configCache) set(name string, doc []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil || len(c.entries) >= maxCachedConfigs {
		c.entries = map[string]cachedConfig{}
	}
	c.entries[name] = cachedConfig{doc: doc, at: time.Now()}
}

func (c *configCache) forget(name string) {
	c.mu.Lock()
	delete(c.entries, name)
	c.mu.Unlock()
}

// GetBucketConfig reads the bucket's document name.
func (s *Store) GetBucketConfig(ctx context.Context, bucket, name string) ([]byte, error) {
	if !store.ValidConfigName(name) {
		return nil, store.CheckConfig(name, nil)
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return nil, err
	}
	full := s.configBase(bucket) + name
	if doc, ok := s.configs.get(full, s.cfg.BucketCacheTTL); ok {
		return configOrMissing(doc)
	}
	obj, err := s.core.Client.GetObject(ctx, s.bucket, full, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.mapErr(err)
	}
	defer obj.Close()
	doc, err := io.ReadAll(io.LimitReader(obj, store.MaxConfigLen+1))
	switch {
	case isNotFound(err):
		s.configs.set(full, nil)
		return nil, fmt.Errorf("upstream: %w", store.ErrNoSuchConfig)
	case err != nil:
		return nil, s.mapErr(err)
	case len(doc) > store.MaxConfigLen:
		return nil, fmt.Errorf("upstream: bucket configuration %s of %s: %w", name, bucket, store.ErrConfigTooLarge)
	}
	if doc == nil {
		doc = []byte{}
	}
	s.configs.set(full, doc)
	return doc, nil
}

func configOrMissing(doc []byte) ([]byte, error) {
	if doc == nil {
		return nil, fmt.Errorf("upstream: %w", store.ErrNoSuchConfig)
	}
	return bytes.Clone(doc), nil
}

// PutBucketConfig writes the bucket's document name.
func (s *Store) PutBucketConfig(ctx context.Context, bucket, name string, doc []byte) error {
	if err := store.CheckConfig(name, doc); err != nil {
		return err
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return err
	}
	if name == store.ConfigObjectLock {
		if err := s.checkLockConfig(ctx, bucket); err != nil {
			return err
		}
	}
	full := s.configBase(bucket) + name
	unlock := s.lockKey(full)
	defer unlock()
	old, err := s.configSize(ctx, full)
	if err != nil {
		return err
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	info, err := s.core.PutObject(ctx, s.bucket, full, bytes.NewReader(doc), int64(len(doc)), "", "", opts)
	if err != nil {
		s.configs.forget(full)
		return s.mapErr(err)
	}
	s.configs.set(full, bytes.Clone(doc))
	if err := s.purgeOlder(ctx, full, info.VersionID); err != nil {
		return err
	}
	e := effect{added: store.ConfigCost(name, len(doc))}
	if old >= 0 {
		e.freed = store.ConfigCost(name, int(old))
	}
	s.account(e)
	return nil
}

// DeleteBucketConfig removes the bucket's document name.
func (s *Store) DeleteBucketConfig(ctx context.Context, bucket, name string) error {
	if !store.ValidConfigName(name) {
		return store.CheckConfig(name, nil)
	}
	if err := s.checkBucket(ctx, bucket); err != nil {
		return err
	}
	return s.removeConfig(ctx, bucket, name)
}

// removeConfig deletes one document (if present) and credits its charge.
func (s *Store) removeConfig(ctx context.Context, bucket, name string) error {
	if name == store.ConfigObjectLock {
		if err := s.checkLockConfig(ctx, bucket); err != nil {
			return err
		}
	}
	full := s.configBase(bucket) + name
	unlock := s.lockKey(full)
	defer unlock()
	old, err := s.configSize(ctx, full)
	if err != nil || old < 0 {
		s.configs.set(full, nil)
		return err
	}
	if err := s.purgeName(ctx, full); err != nil {
		s.configs.forget(full)
		return err
	}
	s.configs.set(full, nil)
	s.account(effect{freed: store.ConfigCost(name, int(old))})
	return nil
}

// removeConfigs deletes every document of bucket (DeleteBucket).
func (s *Store) removeConfigs(ctx context.Context, bucket string) error {
	var names []string
	base := s.configBase(bucket)
	err := s.listAll(ctx, base, "", func(o minio.ObjectInfo) bool {
		names = append(names, o.Key[len(base):])
		return true
	})
	if err != nil {
		return err
	}
	for _, name := range names {
		if !store.ValidConfigName(name) {
			continue
		}
		if err := s.removeConfig(ctx, bucket, name); err != nil {
			return err
		}
	}
	return nil
}

// configSize returns the size of the upstream document full, -1 if absent.
func (s *Store) configSize(ctx context.Context, full string) (int64, error) {
	info, err := s.core.StatObject(ctx, s.bucket, full, minio.StatObjectOptions{})
	if isNotFound(err) {
		return -1, nil
	}
	if err != nil {
		return 0, s.mapErr(err)
	}
	return info.Size, nil
}

// configsCost is what the documents of bucket cost (usage scans).
func (s *Store) configsCost(ctx context.Context, bucket string) (int64, error) {
	var n int64
	base := s.configBase(bucket)
	err := s.listAll(ctx, base, "", func(o minio.ObjectInfo) bool {
		if name := o.Key[len(base):]; store.ValidConfigName(name) {
			n += store.ConfigCost(name, int(o.Size))
		}
		return true
	})
	return n, err
}
