package caddymodule

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/order"
)

// The metrics, on Caddy's metrics endpoint (the admin API's /metrics, or
// the metrics handler). Since Caddy 2.9 each loaded config has its own
// registry: the collectors are created once and registered into every
// config's registry, so counters carry on across reloads. Labels are
// bounded by the config: the order, the S3 operation (a fixed set; "unknown"
// for requests that were not routed), the status class, and for the store
// gauges the data directory. Never a bucket or a key.
var metrics struct {
	once     sync.Once
	requests *prometheus.CounterVec
	bytesIn  *prometheus.CounterVec
	bytesOut *prometheus.CounterVec
	duration *prometheus.HistogramVec
	usage    *usageCollector
	capacity *prometheus.GaugeVec
	expires  *prometheus.GaugeVec
}

const metricsNamespace, metricsSubsystem = "caddy", "s3gateway"

func initMetrics() {
	metrics.once.Do(func() {
		opts := func(name, help string) prometheus.Opts {
			return prometheus.Opts{Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: name, Help: help}
		}
		metrics.requests = prometheus.NewCounterVec(prometheus.CounterOpts(opts("requests_total",
			"S3 requests served, by order, operation and status class (2xx, 3xx, 4xx, 5xx).")),
			[]string{"order", "operation", "status_class"})
		metrics.bytesIn = prometheus.NewCounterVec(prometheus.CounterOpts(opts("received_bytes_total",
			"Request body bytes read (as sent, aws-chunked framing included), by order and operation.")),
			[]string{"order", "operation"})
		metrics.bytesOut = prometheus.NewCounterVec(prometheus.CounterOpts(opts("sent_bytes_total",
			"Response body bytes written, by order and operation.")),
			[]string{"order", "operation"})
		metrics.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Subsystem: metricsSubsystem, Name: "request_duration_seconds",
			Help: "Time to serve S3 requests, body transfer included, by order and operation.",
			// 1 ms to about 4 minutes.
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 10),
		}, []string{"order", "operation"})
		metrics.capacity = prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("capacity_bytes",
			"The order's capacity (order.<id>.capacity) in bytes, by order; 0: unlimited. Compare with store_bytes.")),
			[]string{"order"})
		metrics.expires = prometheus.NewGaugeVec(prometheus.GaugeOpts(opts("expires_timestamp_seconds",
			"When the order expires (order.<id>.expires), in Unix seconds, by order; 0: never.")),
			[]string{"order"})
		metrics.usage = &usageCollector{
			bytes: prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, metricsSubsystem, "store_bytes"),
				"Bytes of object data stored, by order and data directory.", []string{"order", "data"}, nil),
			objects: prometheus.NewDesc(prometheus.BuildFQName(metricsNamespace, metricsSubsystem, "store_objects"),
				"Objects stored, by order and data directory.", []string{"order", "data"}, nil),
		}
	})
}

// registerMetrics registers the collectors into a config's registry.
func registerMetrics(reg *prometheus.Registry) error {
	initMetrics()
	if reg == nil {
		return nil
	}
	for _, c := range []prometheus.Collector{metrics.requests, metrics.bytesIn, metrics.bytesOut, metrics.duration, metrics.usage, metrics.capacity, metrics.expires} {
		// Every handler of a config registers the same collectors.
		if err := reg.Register(c); err != nil && !errors.As(err, new(prometheus.AlreadyRegisteredError)) {
			return err
		}
	}
	return nil
}

// setOrderMetrics publishes the capacity and expiry of an order served.
func setOrderMetrics(o *order.Order) {
	initMetrics()
	metrics.capacity.WithLabelValues(o.ID).Set(float64(o.Capacity))
	exp := 0.0
	if !o.Expires.IsZero() {
		exp = float64(o.Expires.Unix())
	}
	metrics.expires.WithLabelValues(o.ID).Set(exp)
}

// usageCollector reports the usage of the open stores when scraped.
type usageCollector struct {
	bytes, objects *prometheus.Desc
}

// Describe implements prometheus.Collector.
func (c *usageCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.bytes
	ch <- c.objects
}

// Collect implements prometheus.Collector.
//
// The data label is the store's label, never its pool key (an upstream
// location ID digests the upstream's secret key). Two stores of one label
// (an upstream table whose credentials changed, the old store draining)
// are reported once: the gauges are the same namespace's.
func (c *usageCollector) Collect(ch chan<- prometheus.Metric) {
	seen := map[[2]string]bool{}
	for _, s := range liveStores() {
		if seen[[2]string{s.order, s.label}] || !s.enter() {
			continue
		}
		seen[[2]string{s.order, s.label}] = true
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		u, err := s.st.Usage(ctx)
		cancel()
		s.leave()
		if err != nil {
			caddy.Log().Named("s3gateway.metrics").Warn("reading store usage", zap.String("data", s.label), zap.Error(err))
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(u.Bytes), s.order, s.label)
		ch <- prometheus.MustNewConstMetric(c.objects, prometheus.GaugeValue, float64(u.Objects), s.order, s.label)
	}
}

// observer records served requests in the metrics and the access log.
type observer struct {
	order string
}

// newObserver returns the observer of a handler serving order, with the
// metrics registered into reg.
func newObserver(reg *prometheus.Registry, order string) (*observer, error) {
	if err := registerMetrics(reg); err != nil {
		return nil, err
	}
	return &observer{order: order}, nil
}

// observe is the gateway's Observe callback. Besides the metrics, it sets
// the access key as the request's user id ({http.auth.user.id}, the access
// log's user_id) and adds s3_operation, s3_request_id and (on errors)
// s3_error to the access log entry.
func (o *observer) observe(r *http.Request, info gateway.RequestInfo) {
	op := info.Operation
	if op == "" {
		op = "unknown"
	}
	metrics.requests.WithLabelValues(o.order, op, statusClass(info.Status)).Inc()
	metrics.bytesIn.WithLabelValues(o.order, op).Add(float64(info.BytesIn))
	metrics.bytesOut.WithLabelValues(o.order, op).Add(float64(info.BytesOut))
	metrics.duration.WithLabelValues(o.order, op).Observe(info.Duration.Seconds())

	ctx := r.Context()
	if repl, ok := ctx.Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok && info.AccessKey != "" {
		repl.Set("http.auth.user.id", info.AccessKey)
	}
	if extra, ok := ctx.Value(caddyhttp.ExtraLogFieldsCtxKey).(*caddyhttp.ExtraLogFields); ok {
		extra.Set(zap.String("s3_operation", op))
		extra.Set(zap.String("s3_request_id", info.RequestID))
		if info.ErrorCode != "" {
			extra.Set(zap.String("s3_error", info.ErrorCode))
		}
	}
}

// statusClass returns "2xx" for 200 to 299, and so on.
func statusClass(status int) string {
	if status < 100 || status > 599 {
		return "other"
	}
	return strconv.Itoa(status/100) + "xx"
}
