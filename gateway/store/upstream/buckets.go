package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/lambda/storagecli/gateway/store"
)

// ListBuckets lists the bucket markers.
func (s *Store) ListBuckets(ctx context.Context) ([]store.Bucket, error) {
	var out []store.Bucket
	err := s.listAll(ctx, s.bucketsBase(), "", func(o minio.ObjectInfo) bool {
		name := o.Key[len(s.bucketsBase()):]
		if store.ValidBucketName(name) {
			out = append(out, store.Bucket{Name: name, Created: o.LastModified})
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// CreateBucket writes the marker with If-None-Match: *, so that of two
// racing creates one gets ErrBucketExists.
func (s *Store) CreateBucket(ctx context.Context, bucket string) error {
	if !store.ValidBucketName(bucket) {
		return store.ErrInvalidBucketName
	}
	opts := minio.PutObjectOptions{ContentType: "application/octet-stream"}
	opts.SetMatchETagExcept("*")
	_, err := s.core.PutObject(ctx, s.bucket, s.markerName(bucket), bytes.NewReader(nil), 0, "", "", opts)
	if err != nil {
		if isCode(err, "PreconditionFailed") {
			return fmt.Errorf("upstream: %w", store.ErrBucketExists)
		}
		return s.mapErr(err)
	}
	s.account(effect{added: store.BucketCost(bucket)})
	s.sawBucket(bucket)
	return nil
}

// HeadBucket stats the marker.
func (s *Store) HeadBucket(ctx context.Context, bucket string) (store.Bucket, error) {
	if !store.ValidBucketName(bucket) {
		return store.Bucket{}, store.ErrInvalidBucketName
	}
	info, err := s.core.StatObject(ctx, s.bucket, s.markerName(bucket), minio.StatObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			s.forgetBucket(bucket)
			return store.Bucket{}, fmt.Errorf("upstream: %w", store.ErrNoSuchBucket)
		}
		return store.Bucket{}, s.mapErr(err)
	}
	s.sawBucket(bucket)
	return store.Bucket{Name: bucket, Created: info.LastModified}, nil
}

// DeleteBucket removes the marker of a bucket without objects, aborting
// its in-progress uploads first (as S3 does). The emptiness check and the
// removal are separate requests: a put racing with the delete can leave
// an object in a deleted bucket (it reappears if the bucket is created
// again).
func (s *Store) DeleteBucket(ctx context.Context, bucket string) error {
	// Deletes of one bucket through this Store are serialized, so that the
	// bucket's charge is credited once.
	unlock := s.lockKey(s.markerName(bucket))
	defer unlock()
	if _, err := s.HeadBucket(ctx, bucket); err != nil {
		return err
	}
	if err := s.checkEmpty(ctx, bucket); err != nil {
		return err
	}
	if err := s.abortUploads(ctx, bucket); err != nil {
		return err
	}
	if err := s.removeConfigs(ctx, bucket); err != nil {
		return err
	}
	if err := s.purgeUnder(ctx, s.pfx+".attrs/"+bucket+"/"); err != nil {
		return err
	}
	if err := s.purgeName(ctx, s.versioningName(bucket)); err != nil {
		return err
	}
	s.forgetVersioning(bucket)
	s.forgetBucket(bucket)
	if err := s.purgeName(ctx, s.markerName(bucket)); err != nil {
		return err
	}
	s.account(effect{freed: store.BucketCost(bucket)})
	s.forgetBucket(bucket)
	return nil
}

// checkBucket returns ErrNoSuchBucket unless the bucket exists (trusting a
// recent sighting for BucketCacheTTL).
func (s *Store) checkBucket(ctx context.Context, bucket string) error {
	if !store.ValidBucketName(bucket) {
		return store.ErrInvalidBucketName
	}
	if s.cfg.BucketCacheTTL > 0 {
		s.bmu.Lock()
		at, ok := s.buckets[bucket]
		s.bmu.Unlock()
		if ok && time.Since(at) < s.cfg.BucketCacheTTL {
			return nil
		}
	}
	_, err := s.HeadBucket(ctx, bucket)
	return err
}

func (s *Store) sawBucket(bucket string) {
	if s.cfg.BucketCacheTTL <= 0 {
		return
	}
	s.bmu.Lock()
	s.buckets[bucket] = time.Now()
	s.bmu.Unlock()
}

func (s *Store) forgetBucket(bucket string) {
	s.bmu.Lock()
	delete(s.buckets, bucket)
	s.bmu.Unlock()
}

// listAll calls fn for every upstream object under prefix (after
// startAfter) until fn returns false.
func (s *Store) listAll(ctx context.Context, prefix, startAfter string, fn func(minio.ObjectInfo) bool) error {
	token := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := s.core.ListObjectsV2(s.bucket, prefix, startAfter, token, "", 1000)
		if err != nil {
			return s.mapErr(err)
		}
		for _, o := range res.Contents {
			if !fn(o) {
				return nil
			}
		}
		if !res.IsTruncated || res.NextContinuationToken == "" {
			return nil
		}
		token = res.NextContinuationToken
	}
}

// abortUploads aborts every in-progress upload of the bucket, a page at a
// time.
func (s *Store) abortUploads(ctx context.Context, bucket string) error {
	var opts store.UploadsOptions
	for {
		page, err := s.ListMultipartUploads(ctx, bucket, opts)
		if err != nil {
			return err
		}
		for _, u := range page.Uploads {
			if err := s.AbortMultipartUpload(ctx, bucket, u.Key, u.UploadID); err != nil && !errors.Is(err, store.ErrNoSuchUpload) {
				return err
			}
		}
		if !page.Truncated {
			return nil
		}
		opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
}

// checkEmpty returns ErrBucketNotEmpty if the bucket holds an object (on
// a versioned upstream: any version or delete marker).
func (s *Store) checkEmpty(ctx context.Context, bucket string) error {
	var found bool
	if s.versioned() {
		page, err := s.listVersions(ctx, s.dataBase(bucket), "", "", 1)
		if err != nil {
			return err
		}
		found = len(page.Versions) > 0
	} else {
		res, err := s.core.ListObjectsV2(s.bucket, s.dataBase(bucket), "", "", "", 1)
		if err != nil {
			return s.mapErr(err)
		}
		found = len(res.Contents) > 0
	}
	if found {
		return fmt.Errorf("upstream: %w", store.ErrBucketNotEmpty)
	}
	return nil
}

// purgeUnder removes every internal upstream name under prefix.
func (s *Store) purgeUnder(ctx context.Context, prefix string) error {
	var names []string
	if err := s.listAll(ctx, prefix, "", func(o minio.ObjectInfo) bool {
		names = append(names, o.Key)
		return true
	}); err != nil {
		return err
	}
	for _, n := range names {
		if err := s.purgeName(ctx, n); err != nil {
			return err
		}
	}
	return nil
}
