package gateway

import (
	"context"
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// bucketConfigs are the bucket configurations, by sub-resource. Those
// with handlers are kept with the bucket (store.BucketConfigs). For the
// others, which the gateway does not (yet) support, GET answers as S3
// does for a bucket where the configuration is not set (an error, or an
// empty document), DELETE succeeds (there is nothing to delete) and PUT
// is refused as NotImplemented: SDKs and tools read them.
var bucketConfigs = []struct {
	sub           string
	get, put, del string       // operation names; del "" when S3 has none
	missing       *s3err.Error // GET answers this error, or
	emptyRoot     string       // GET answers this empty document
	handlers      *configHandlers
}{
	{"lifecycle", "GetBucketLifecycleConfiguration", "PutBucketLifecycleConfiguration", "DeleteBucketLifecycle", s3err.NoSuchLifecycleConfiguration, "",
		&configHandlers{(*Handler).getBucketLifecycle, (*Handler).putBucketLifecycle, (*Handler).deleteBucketLifecycle}},
	{"tagging", "GetBucketTagging", "PutBucketTagging", "DeleteBucketTagging", s3err.NoSuchTagSet, "",
		&configHandlers{(*Handler).getBucketTagging, (*Handler).putBucketTagging, (*Handler).deleteBucketTagging}},
	{"website", "GetBucketWebsite", "PutBucketWebsite", "DeleteBucketWebsite", s3err.NoSuchWebsiteConfiguration, "",
		&configHandlers{(*Handler).getBucketWebsite, (*Handler).putBucketWebsite, (*Handler).deleteBucketWebsite}},
	{"encryption", "GetBucketEncryption", "PutBucketEncryption", "DeleteBucketEncryption", s3err.ServerSideEncryptionConfigurationNotFound, "",
		&configHandlers{(*Handler).getBucketEncryption, (*Handler).putBucketEncryption, (*Handler).deleteBucketEncryption}},
	{"object-lock", "GetObjectLockConfiguration", "PutObjectLockConfiguration", "", s3err.ObjectLockConfigurationNotFound, "",
		&configHandlers{(*Handler).getObjectLockConfiguration, (*Handler).putObjectLockConfiguration, nil}},
	{"replication", "GetBucketReplication", "PutBucketReplication", "DeleteBucketReplication", s3err.ReplicationConfigurationNotFound, "", nil},
	{"logging", "GetBucketLogging", "PutBucketLogging", "", nil, "BucketLoggingStatus", nil},
	{"notification", "GetBucketNotificationConfiguration", "PutBucketNotificationConfiguration", "", nil, "NotificationConfiguration", nil},
	{"accelerate", "GetBucketAccelerateConfiguration", "PutBucketAccelerateConfiguration", "", nil, "AccelerateConfiguration", nil},
	{"requestPayment", "GetBucketRequestPayment", "PutBucketRequestPayment", "", nil, "RequestPaymentConfiguration", nil},
}

// configHandlers answer a configuration the gateway keeps.
type configHandlers struct{ get, put, del handlerFunc }

// bucketConfigRoutes are the routes of bucketConfigs and of the access
// configurations (accessconfig.go).
func bucketConfigRoutes() []route {
	rs := accessConfigRoutes()
	for _, c := range bucketConfigs {
		get, put, del := bucketEmptyConfig(c.emptyRoot), notImplemented, handlerFunc(bucketNoContent)
		if c.missing != nil {
			get = bucketError(c.missing)
		}
		if hs := c.handlers; hs != nil {
			get, put, del = hs.get, hs.put, hs.del
		}
		rs = append(rs,
			route{"GET", bucket, c.sub, nil, c.get, permRead, get},
			route{"PUT", bucket, c.sub, nil, c.put, permConfig, put})
		if c.del != "" {
			rs = append(rs, route{"DELETE", bucket, c.sub, nil, c.del, permConfig, del})
		}
	}
	return rs
}

// bucketError answers a configuration the bucket never has.
func bucketError(e *s3err.Error) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request, rc *reqContext) error {
		if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
			return err
		}
		return e
	}
}

// bucketEmptyConfig answers a configuration with its empty document.
func bucketEmptyConfig(root string) handlerFunc {
	return func(h *Handler, w http.ResponseWriter, r *http.Request, rc *reqContext) error {
		if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
			return err
		}
		writeXML(w, http.StatusOK, emptyConfig{XMLName: xml.Name{Local: root}, NS: s3NS})
		return nil
	}
}

// bucketNoContent answers deleting a configuration that is never set.
func bucketNoContent(h *Handler, w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// putBucketConfig stores the bucket's configuration document name,
// charging it to the order (store.ConfigCost) like any other write.
func (h *Handler) putBucketConfig(ctx context.Context, rc *reqContext, name string, doc []byte) error {
	release, err := h.reserve(ctx, rc, store.ConfigCost(name, len(doc)), h.replacedConfigCost(rc.bucket, name))
	if err != nil {
		return err
	}
	defer release()
	return h.opts.Store.PutBucketConfig(ctx, rc.bucket, name, doc)
}

// replacedConfigCost gives what the document a put replaces is charged.
func (h *Handler) replacedConfigCost(bucket, name string) order.UsageFunc {
	return func(ctx context.Context) (int64, error) {
		doc, err := h.opts.Store.GetBucketConfig(ctx, bucket, name)
		if errors.Is(err, store.ErrNoSuchConfig) || errors.Is(err, store.ErrNoSuchBucket) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		return store.ConfigCost(name, len(doc)), nil
	}
}

// bucketConfig returns the bucket's configuration document name, or
// missing (the S3 error of an unset configuration) when it has none.
func (h *Handler) bucketConfig(ctx context.Context, bucket, name string, missing *s3err.Error) ([]byte, error) {
	doc, err := h.opts.Store.GetBucketConfig(ctx, bucket, name)
	if errors.Is(err, store.ErrNoSuchConfig) {
		return nil, missing
	}
	return doc, err
}
