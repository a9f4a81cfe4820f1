package caddymodule

import (
	"context"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lambda/storagecli/config"
	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/internal/orderstore"
)

// usageStore is an order store that only reports a usage.
type usageStore struct {
	store.Store
	u store.Usage
}

func (s usageStore) Usage(context.Context) (store.Usage, error) { return s.u, nil }
func (usageStore) Close() error                                 { return nil }

// The store gauges' data label of an upstream order is its endpoint,
// bucket and prefix: no secret influences it (the pool key digests every
// setting, secret key included), and two stores of one namespace (its
// credentials changed, the old store draining) are reported once.
func TestUsageLabelHasNoSecret(t *testing.T) {
	up := func(secret string) orderstore.Location {
		cfg := &config.Config{Orders: map[string]config.Order{"up": {Upstream: &config.Upstream{
			Endpoint: "http://127.0.0.1:9", Bucket: "orders", Prefix: "up/", AccessKey: "ak", SecretKey: config.Secret(secret)}}}}
		return orderstore.Locate(cfg, t.TempDir(), "up")
	}
	a, b := up("first-secret"), up("second-secret")
	if a.ID == b.ID {
		t.Fatalf("one pool key %q for two secret keys", a.ID)
	}
	storesMu.Lock()
	saved := live
	live = map[string]*sharedStore{
		a.ID: {dir: a.ID, label: a.String(), order: "up", st: usageStore{u: store.Usage{Bytes: 7, Objects: 1}}},
		b.ID: {dir: b.ID, label: b.String(), order: "up", st: usageStore{u: store.Usage{Bytes: 7, Objects: 1}}},
	}
	storesMu.Unlock()
	t.Cleanup(func() { storesMu.Lock(); live = saved; storesMu.Unlock() })

	initMetrics()
	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.usage)
	families, err := reg.Gather() // fails on two samples with one label set
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range families {
		for _, m := range f.GetMetric() {
			n++
			for _, l := range m.GetLabel() {
				if l.GetName() == "data" && (l.GetValue() != "http://127.0.0.1:9/orders/up/" || strings.Contains(l.GetValue(), "@")) {
					t.Errorf("%s: data label %q, want the endpoint/bucket/prefix only", f.GetName(), l.GetValue())
				}
			}
		}
	}
	if n != 2 { // store_bytes and store_objects, once each
		t.Errorf("%d samples, want 2", n)
	}
}
