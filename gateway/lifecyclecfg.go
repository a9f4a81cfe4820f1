package gateway

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/lambda/storagecli/gateway/lifecycle"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

func (h *Handler) putBucketLifecycle(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if !hasBodyIntegrity(r.Header) {
		return errMissingContentMD5
	}
	body, err := h.readXMLBody(r, rc, store.MaxConfigLen, true)
	if err != nil {
		return err
	}
	cfg, err := lifecycle.Parse(body)
	if err != nil {
		return err
	}
	doc := cfg.Marshal()
	if len(doc) > store.MaxConfigLen {
		return s3err.MaxMessageLengthExceeded
	}
	if err := h.putBucketConfig(r.Context(), rc, store.ConfigLifecycle, doc); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

func (h *Handler) getBucketLifecycle(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	doc, err := h.bucketConfig(r.Context(), rc.bucket, store.ConfigLifecycle, s3err.NoSuchLifecycleConfiguration)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/xml")
	_, err = w.Write(doc)
	return err
}

func (h *Handler) deleteBucketLifecycle(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if err := h.opts.Store.DeleteBucketConfig(r.Context(), rc.bucket, store.ConfigLifecycle); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// lifecycleDay is the order's lifecycle day.
func lifecycleDay(rc *reqContext) time.Duration {
	if rc.ord.LifecycleDay > 0 {
		return rc.ord.LifecycleDay
	}
	return lifecycle.Day
}

// setExpiration sets x-amz-expiration when a lifecycle rule of the bucket
// will expire obj, the key's current version.
func (h *Handler) setExpiration(ctx context.Context, hdr http.Header, rc *reqContext, obj *store.Object) {
	cfg := h.lifecycles.get(ctx, h.opts.Store, rc.bucket)
	if cfg == nil || obj == nil || obj.DeleteMarker {
		return
	}
	at, rule, ok := cfg.Expiry(lifecycle.Object{Key: obj.Key, Size: obj.Size, Tags: obj.Meta.Tags, MTime: obj.LastModified}, lifecycleDay(rc))
	if ok {
		hdr.Set("x-amz-expiration", lifecycle.HeaderValue(at, rule))
	}
}

// lifecycleCache keeps parsed lifecycle documents, by their bytes.
type lifecycleCache struct {
	mu     sync.Mutex
	parsed map[string]*lifecycle.Configuration
}

// get returns the bucket's rules, nil when it has none (or they cannot be
// read: the header is informative, the request goes on).
func (c *lifecycleCache) get(ctx context.Context, st store.Store, bucket string) *lifecycle.Configuration {
	doc, err := st.GetBucketConfig(ctx, bucket, store.ConfigLifecycle)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if cfg, ok := c.parsed[string(doc)]; ok {
		return cfg
	}
	cfg, err := lifecycle.Parse(doc)
	if err != nil {
		return nil
	}
	if c.parsed == nil || len(c.parsed) >= 256 {
		c.parsed = map[string]*lifecycle.Configuration{}
	}
	c.parsed[string(doc)] = cfg
	return cfg
}
