package upstream

import (
	"context"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
)

// Usage scans the order's buckets (objects, and parts of in-progress
// uploads). S3 offers no exact counter that many stateless gateways could
// keep without a scan, so the result is cached for UsageCacheTTL; any
// write through this Store invalidates the cache, writes through other
// gateways show after at most UsageCacheTTL.
func (s *Store) Usage(ctx context.Context) (store.Usage, error) {
	s.umu.Lock()
	if s.usage != nil && s.cfg.UsageCacheTTL > 0 && time.Since(s.usageAt) < s.cfg.UsageCacheTTL {
		u := *s.usage
		s.umu.Unlock()
		return u, nil
	}
	gen := s.gen
	s.umu.Unlock()

	u, err := s.scanUsage(ctx)
	if err != nil {
		return store.Usage{}, err
	}
	s.umu.Lock()
	if s.gen == gen {
		s.usage, s.usageAt = &u, time.Now()
	}
	s.umu.Unlock()
	return u, nil
}

func (s *Store) scanUsage(ctx context.Context) (store.Usage, error) {
	var u store.Usage
	buckets, err := s.ListBuckets(ctx)
	if err != nil {
		return u, err
	}
	for _, b := range buckets {
		err := s.listAll(ctx, s.dataBase(b.Name), "", func(o minio.ObjectInfo) bool {
			if _, ok := dec(o.Key[len(s.dataBase(b.Name)):]); ok {
				u.Objects++
				u.Bytes += o.Size
			}
			return true
		})
		if err != nil {
			return u, err
		}
		base := s.uploadsBase(b.Name)
		type up struct{ key, id string }
		var ups []up
		err = s.listAll(ctx, base, "", func(o minio.ObjectInfo) bool {
			rest := o.Key[len(base):]
			for i := 0; i < len(rest); i++ {
				if rest[i] == '/' {
					k, ok1 := dec(rest[:i])
					id, ok2 := dec(rest[i+1:])
					if ok1 && ok2 {
						ups = append(ups, up{k, id})
					}
					break
				}
			}
			return true
		})
		if err != nil {
			return u, err
		}
		for _, p := range ups {
			marker := 0
			for {
				res, err := s.core.ListObjectParts(ctx, s.bucket, s.dataName(b.Name, p.key), p.id, marker, 1000)
				if err != nil {
					if isCode(err, "NoSuchUpload") {
						break
					}
					return u, s.mapErr(err)
				}
				for _, part := range res.ObjectParts {
					u.Bytes += part.Size
				}
				if !res.IsTruncated || len(res.ObjectParts) == 0 {
					break
				}
				marker = res.NextPartNumberMarker
			}
		}
	}
	return u, nil
}
