package upstream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/tags"

	"github.com/lambda/storagecli/gateway/store"
)

// Attributes changed in place (docs/upstream.md).
//
// An object's attributes (ACL, tags, lock) travel in its upstream
// metadata, which only a copy could change, and a copy makes a new
// version (a new version id, mtime and, for a multipart object, ETag).
// UpdateObject instead writes the new attributes to a sidecar document,
// P.attrs/<B>/<enc(K)>/<version>, and tags the upstream version with
// attrsTag (PutObjectTagging keeps its version id, ETag and mtime). A
// version whose HEAD or GET answer counts tags has its attributes read
// from the sidecar, which names the version it belongs to (upstream id,
// ETag, mtime): a sidecar left by an object since overwritten (a plain
// upstream reuses the name) is ignored. Concurrent updates are
// serialized by conditional writes of the sidecar (If-Match of the one
// read, If-None-Match when there was none).

// attrsTag is the upstream tag marking a version with a sidecar.
const attrsTag = "storagecli-attrs"

// maxUpdateAttempts bounds UpdateObject's retries after losing a race.
const maxUpdateAttempts = 8

// sidecar is the document of a version's attributes.
type sidecar struct {
	Version string         `json:"v"`
	ETag    string         `json:"e"`
	MTime   int64          `json:"t"` // Unix seconds
	Meta    store.Metadata `json:"m"` // only the attribute fields
}

func (s *Store) attrsBase(bucket, key string) string {
	return s.pfx + ".attrs/" + bucket + "/" + enc(key) + "/"
}

func (s *Store) attrsName(bucket, key, up string) string {
	if up == "" {
		up = "-"
	}
	return s.attrsBase(bucket, key) + enc(up)
}

// overlay sets o's attributes from its sidecar, if the upstream version
// (info) is marked as having one.
func (s *Store) overlay(ctx context.Context, bucket string, o *store.Object, info minio.ObjectInfo) error {
	if info.UserTagCount == 0 {
		return nil
	}
	sc, _, err := s.readSidecar(ctx, s.attrsName(bucket, o.Key, info.VersionID))
	if err != nil || sc == nil || !sc.belongsTo(info) {
		return err
	}
	o.Meta.CopyAttrs(&sc.Meta)
	return nil
}

func (sc *sidecar) belongsTo(info minio.ObjectInfo) bool {
	return sc.Version == info.VersionID && sc.ETag == trimETag(info.ETag) && sc.MTime == info.LastModified.Unix()
}

// readSidecar returns the sidecar at name (nil if none) and its ETag.
func (s *Store) readSidecar(ctx context.Context, name string) (*sidecar, string, error) {
	r, info, _, err := s.core.GetObject(ctx, s.bucket, name, minio.GetObjectOptions{})
	if err != nil {
		if isNotFound(err) {
			return nil, "", nil
		}
		return nil, "", s.mapErr(err)
	}
	defer r.Close()
	sc := &sidecar{}
	if err := json.NewDecoder(io.LimitReader(r, store.MaxMetaLen*4)).Decode(sc); err != nil {
		return nil, "", fmt.Errorf("upstream: corrupt attributes of an object: %v", err)
	}
	return sc, trimETag(info.ETag), nil
}

// UpdateObject changes the attributes of the key's current version.
func (s *Store) UpdateObject(ctx context.Context, bucket, key string, fn func(*store.Object) error) (*store.Object, error) {
	return s.updateAttrs(ctx, bucket, key, "", fn)
}

// UpdateObjectVersion changes the attributes of version versionID.
func (s *Store) UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, fn func(*store.Object) error) (*store.Object, error) {
	if !s.versioned() {
		if err := currentOnly(versionID); err != nil {
			return nil, err
		}
		versionID = ""
	}
	return s.updateAttrs(ctx, bucket, key, versionID, fn)
}

// versionInfo stats version vid of key ("" the current one) and
// describes it with its attributes.
func (s *Store) versionInfo(ctx context.Context, bucket, key, vid string) (*store.Object, minio.ObjectInfo, error) {
	up := ""
	if vid != "" {
		var found bool
		var err error
		if up, found, err = s.resolveVID(ctx, bucket, key, vid); err != nil {
			return nil, minio.ObjectInfo{}, err
		}
		if !found {
			return nil, minio.ObjectInfo{}, s.readErr(ctx, bucket, key, vid, minio.ObjectInfo{},
				minio.ErrorResponse{StatusCode: 404, Code: "NoSuchVersion"})
		}
	}
	name := s.dataName(bucket, key)
	info, err := s.core.StatObject(ctx, s.bucket, name, minio.StatObjectOptions{VersionID: up})
	if err != nil {
		if !s.versioned() {
			if err = s.mapErr(err); errors.Is(err, store.ErrNoSuchKey) {
				if berr := s.checkBucket(ctx, bucket); berr != nil {
					return nil, info, berr
				}
			}
			return nil, info, err
		}
		return nil, info, s.readErr(ctx, bucket, key, vid, info, err)
	}
	o, err := s.describe(ctx, bucket, key, info)
	if err == nil {
		err = s.stamp(ctx, bucket, o, info.VersionID)
	}
	return o, info, err
}

func (s *Store) updateAttrs(ctx context.Context, bucket, key, vid string, fn func(*store.Object) error) (*store.Object, error) {
	if err := store.CheckNames(bucket, key); err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		o, info, err := s.versionInfo(ctx, bucket, key, vid)
		if err != nil {
			return nil, err
		}
		name := s.attrsName(bucket, key, info.VersionID)
		old, oldETag, err := s.readSidecar(ctx, name)
		if err != nil {
			return nil, err
		}
		cp := *o
		if err := fn(&cp); err != nil {
			return nil, err
		}
		before := o.Meta
		o.Meta.CopyAttrs(&cp.Meta)
		sc := sidecar{Version: info.VersionID, ETag: trimETag(info.ETag), MTime: info.LastModified.Unix()}
		sc.Meta.CopyAttrs(&cp.Meta)
		if s.locking() {
			// The lock is the upstream's own; the sidecar keeps the rest.
			if err := s.setLock(ctx, s.dataName(bucket, key), info.VersionID, &before, &o.Meta); err != nil {
				return nil, err
			}
			sc.Meta.LockMode, sc.Meta.LockUntil, sc.Meta.LegalHold = "", "", ""
			if before.ACL == o.Meta.ACL && before.Tags == o.Meta.Tags {
				return o, nil
			}
		}
		err = s.writeSidecar(ctx, name, &sc, old != nil, oldETag)
		if isCode(err, "PreconditionFailed") && attempt < maxUpdateAttempts {
			continue // another update won the race: again, on its result
		}
		if err != nil {
			return nil, s.mapErr(err)
		}
		if info.UserTagCount == 0 {
			t, _ := tags.NewTags(map[string]string{attrsTag: "1"}, true)
			if err := s.core.Client.PutObjectTagging(ctx, s.bucket, s.dataName(bucket, key), t,
				minio.PutObjectTaggingOptions{VersionID: info.VersionID}); err != nil {
				return nil, s.lockErr(err)
			}
		}
		return o, nil
	}
}

// writeSidecar writes sc at name if the sidecar there is still the one
// read (ETag oldETag, or none).
func (s *Store) writeSidecar(ctx context.Context, name string, sc *sidecar, had bool, oldETag string) error {
	j, _ := json.Marshal(sc)
	opts := minio.PutObjectOptions{ContentType: "application/json"}
	if had {
		opts.SetMatchETag(oldETag)
	} else {
		opts.SetMatchETagExcept("*")
	}
	info, err := s.core.PutObject(ctx, s.bucket, name, bytes.NewReader(j), int64(len(j)), "", "", opts)
	if err != nil {
		return err
	}
	return s.purgeOlder(ctx, name, info.VersionID)
}

// dropSidecars removes the sidecars of the given upstream versions of
// key (versions being removed), if any.
func (s *Store) dropSidecars(ctx context.Context, bucket, key string, ups []string) error {
	base := s.attrsBase(bucket, key)
	l, err := s.listObjectsV2(ctx, base, "", "", 1000)
	if err != nil {
		return s.mapErr(err)
	}
	gone := map[string]bool{}
	for _, up := range ups {
		gone[s.attrsName(bucket, key, up)] = true
	}
	for _, c := range l.Contents {
		if gone[c.Key] || strings.HasSuffix(c.Key, "/-") {
			if err := s.purgeName(ctx, c.Key); err != nil {
				return err
			}
		}
	}
	return nil
}
