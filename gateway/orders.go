package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// SetOrder replaces the order served (key rotation, new capacity or
// expiry). Requests already authenticated finish under the order they
// started with; from the moment SetOrder returns, new requests are checked
// against o. Space reserved by writes in flight stays reserved.
func (h *Handler) SetOrder(o *order.Order) error {
	if o == nil {
		return errors.New("gateway: nil order")
	}
	if err := o.Validate(); err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	h.order.Store(o)
	return nil
}

// Order returns the order served now. It must not be modified.
func (h *Handler) Order() *order.Order { return h.order.Load() }

// Usage is an order's usage as the gateway accounts for it.
type Usage struct {
	// Bytes and Objects are what the store holds.
	Bytes, Objects int64
	// Reserved is the space held by writes in progress.
	Reserved int64
	// Capacity is the order's capacity; 0 means unlimited.
	Capacity int64
}

// Usage reports what the order holds and what writes in flight reserve.
func (h *Handler) Usage(ctx context.Context) (Usage, error) {
	u, err := h.opts.Store.Usage(ctx)
	if err != nil {
		return Usage{}, err
	}
	return Usage{Bytes: u.Bytes, Objects: u.Objects, Reserved: h.meter.Pending(), Capacity: h.order.Load().Capacity}, nil
}

// authorize applies the order's expiry, the key's permission and the
// bucket policy to a request; an anonymous one is decided by
// authorizeAnonymous first (refusal: its answer where nothing can grant
// it). Codes: every refusal is 403 AccessDenied, with a message naming
// the expiry or the read-only key when it is the reason.
func (h *Handler) authorize(r *http.Request, rc *reqContext, refusal error) error {
	if rc.anonymous() {
		if err := h.authorizeAnonymous(r, rc, refusal); err != nil {
			return err
		}
		if err := h.authorizeAnonymousIfMatch(r, rc); err != nil {
			return err
		}
	}
	o := rc.ord
	switch o.State(h.opts.Now()) {
	case order.Closed:
		return s3err.AccessDenied.WithMessage("%s", o.ClosedMessage())
	case order.ReadOnly:
		if rc.writes() {
			return s3err.AccessDenied.WithMessage("%s", o.ExpiredMessage())
		}
	}
	if rc.anonymous() {
		return nil
	}
	if k, _ := o.Key(rc.auth.AccessKey); k.ReadOnly && rc.writes() {
		return s3err.AccessDenied.WithMessage("The access key %s is read-only.", k.AccessKey)
	}
	return h.authorizePolicy(r, rc)
}

// writes reports whether the request's operation changes anything.
func (rc *reqContext) writes() bool { return rc.route != nil && rc.route.perm.writes() }

func (h *Handler) usedBytes(ctx context.Context) (int64, error) {
	u, err := h.opts.Store.Usage(ctx)
	return u.Bytes, err
}

// quotaError is the answer to a write that does not fit: 403 QuotaExceeded.
func quotaError(o *order.Order, n int64) error {
	if n < 0 {
		return s3err.QuotaExceeded.WithMessage("The upload was cut off: it does not fit in the remaining capacity of order %s (capacity %d bytes).", o.ID, o.Capacity)
	}
	return s3err.QuotaExceeded.WithMessage("Writing %d bytes (data, name and metadata) would exceed the capacity of order %s (%d bytes).", n, o.ID, o.Capacity)
}

// reserve reserves n bytes (a write of known cost: its data plus the
// charge for its entry, see store.ObjectCost) against the order's capacity
// before anything is transferred. Writes reserve also when the order is
// unlimited, so that a capacity set while they run (SIGHUP, Caddy reload)
// counts them. When n does not fit and replaced is given (the write
// replaces an object), what the object replaced costs is credited: an
// overwrite in a full order that does not grow it succeeds. The returned
// func gives the reservation back; call it once the write has settled.
func (h *Handler) reserve(ctx context.Context, rc *reqContext, n int64, replaced order.UsageFunc) (func(), error) {
	if n <= 0 {
		return func() {}, nil
	}
	ok, err := h.meter.Reserve(ctx, h.usedBytes, rc.ord.Capacity, n)
	if err == nil && !ok && replaced != nil {
		ok, err = h.meter.ReserveReplacing(ctx, h.usedBytes, replaced, rc.ord.Capacity, n)
	}
	if err != nil {
		return nil, err
	}
	if !ok {
		// A write into a bucket that does not exist is refused as such,
		// whether or not it would fit.
		if rc.op != "CreateBucket" {
			if _, err := h.opts.Store.HeadBucket(ctx, rc.bucket); errors.Is(err, store.ErrNoSuchBucket) {
				return nil, err
			}
		}
		return nil, quotaError(rc.ord, n)
	}
	return func() { h.meter.Release(n) }, nil
}

// replacedCost returns the UsageFunc giving what the object a write to
// rc's key replaces is charged (0 when there is none).
func (h *Handler) replacedCost(rc *reqContext) order.UsageFunc {
	return func(ctx context.Context) (int64, error) {
		obj, err := h.opts.Store.HeadObject(ctx, rc.bucket, rc.key)
		if errors.Is(err, store.ErrNoSuchKey) || errors.Is(err, store.ErrNoSuchBucket) {
			return 0, nil
		}
		if err != nil {
			return 0, err
		}
		if obj.VersionID != "" {
			return 0, nil // a versioned bucket: the write may keep it as a noncurrent version
		}
		return store.ObjectCost(rc.key, obj.Size, h.chargedMeta(&obj.Meta)), nil
	}
}

// chargedMeta returns m if the store charges object metadata, else nil
// (see store.MetadataUncharged).
func (h *Handler) chargedMeta(m *store.Metadata) *store.Metadata {
	if store.ChargesObjectMetadata(h.opts.Store) {
		return m
	}
	return nil
}

// meterBody reserves space for a request body of size bytes (-1: unknown)
// plus overhead, the charge for the entry it makes, and returns the
// reader to give the store: for an unknown size, a reader that reserves as
// it goes and fails, making the store roll the write back, when the
// capacity is reached. replaced is as for reserve.
func (h *Handler) meterBody(ctx context.Context, rc *reqContext, body io.Reader, size, overhead int64, replaced order.UsageFunc) (io.Reader, func(), error) {
	if size >= 0 {
		release, err := h.reserve(ctx, rc, size+overhead, replaced)
		return body, release, err
	}
	release, err := h.reserve(ctx, rc, overhead, replaced)
	if err != nil {
		return nil, nil, err
	}
	mr := h.meter.NewReader(ctx, body, h.usedBytes, rc.ord.Capacity, quotaError(rc.ord, -1))
	return mr, func() { mr.Release(); release() }, nil
}
