package upstream

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

// Watchdog limits (see watchdog).
const (
	// MaxWait bounds how long a request waits for the upstream's answer
	// while the upstream proves alive (MinIO's own lock timeout is of this
	// order; clients usually give up sooner, which cancels the request).
	MaxWait = 10 * time.Minute
	// maxProbeTimeout bounds a liveness probe.
	maxProbeTimeout = 10 * time.Second
	// downCheck is how soon a request started while the upstream is down
	// (the last probe failed) looks at the probe again.
	downCheck = time.Second
)

// connBufferSize is the size of each of the read and write buffers of a
// connection to the upstream (net/http's default): a header larger than
// that takes a few more system calls, and bodies go around the buffers.
const connBufferSize = 4 << 10

// transport is the HTTP transport to the upstream: connections are
// bounded by DialTimeout; waiting for answers is the watchdog's business.
func transport(cfg Config) (*http.Transport, error) {
	tlsCfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("upstream: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("upstream: ca_file %s: no certificates", cfg.CAFile)
		}
		tlsCfg.RootCAs = pool
	}
	d := &net.Dialer{Timeout: cfg.DialTimeout, KeepAlive: 30 * time.Second}
	return &http.Transport{
		Proxy:                 nil,
		DialContext:           d.DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   cfg.DialTimeout,
		ExpectContinueTimeout: time.Second,
		TLSClientConfig:       tlsCfg,
		// Every connection (one per upload in flight, stalled ones
		// included, and up to MaxIdleConns idle) holds both buffers, so
		// they are small: they carry headers and small answers, and a
		// body goes around them (net/http copies a request body to the
		// connection with io.Copy once the header is flushed, and reads
		// into a large enough buffer bypass the read buffer), so larger
		// ones would not speed large transfers up.
		ReadBufferSize:  connBufferSize,
		WriteBufferSize: connBufferSize,
		// Bodies are passed through as they are (no transparent gzip).
		DisableCompression: true,
	}, nil
}

// watchdog tells a slow upstream from a dead one. A request whose answer
// has not come after timeout is not abandoned at once: the upstream is
// probed (a HEAD of the upstream bucket on a connection of its own, at
// most min(timeout, 10s)), and the request keeps waiting while probes
// succeed, up to MaxWait. A busy upstream is no failure: a MinIO cluster
// delays a write on a contended key until its distributed lock is free
// (its lock retries back off up to 5 s each, and it gives up only after
// minutes), and abandoning the request would not cancel it upstream: it
// would still commit later, and a retry would queue behind the same lock.
//
// A failed probe fails the waiting requests with a timeout
// (ErrUnavailable) and marks the upstream down: requests started while it
// is down look at the probe after one second instead of timeout, so
// retries fail fast; the first answer or successful probe ends it.
type watchdog struct {
	base         http.RoundTripper
	timeout      time.Duration
	probeTimeout time.Duration
	probe        func(context.Context) error

	mu       sync.Mutex
	probing  chan struct{} // closed when the probe in flight ends
	probedAt time.Time
	probeErr error // of the last probe: the upstream is down while set
}

func newWatchdog(base http.RoundTripper, timeout time.Duration, probe func(context.Context) error) *watchdog {
	return &watchdog{base: base, timeout: timeout, probeTimeout: min(timeout, maxProbeTimeout), probe: probe}
}

// answered records an answer from the upstream: it is alive, so it is no
// longer down.
func (w *watchdog) answered() {
	w.mu.Lock()
	if w.probeErr != nil {
		w.probeErr, w.probedAt = nil, time.Now()
	}
	w.mu.Unlock()
}

// down reports whether the last probe failed.
func (w *watchdog) down() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.probeErr != nil
}

// errNoAnswer is the failure of a request the upstream did not answer.
type errNoAnswer struct{ waited time.Duration }

func (e errNoAnswer) Error() string {
	return fmt.Sprintf("no answer from the upstream after %s (and it failed a liveness probe)", e.waited.Round(time.Millisecond))
}
func (errNoAnswer) Timeout() bool   { return true }
func (errNoAnswer) Temporary() bool { return true }

var _ net.Error = errNoAnswer{}

// RoundTrip implements http.RoundTripper. The request runs on the
// caller's goroutine; a timer (which holds no goroutine while it waits)
// probes the upstream when the answer is late, and cancels the request
// if the upstream is dead.
func (w *watchdog) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	start := time.Now()
	first := w.timeout
	if w.down() {
		first = min(first, downCheck)
	}
	var (
		mu       sync.Mutex
		answered bool          // base.RoundTrip has returned
		gaveUp   bool          // the upstream failed a probe: the request was cancelled
		waited   time.Duration // until it gave up
		timer    *time.Timer
	)
	mu.Lock() // the timer's function waits until timer is set
	timer = time.AfterFunc(first, func() {
		elapsed := time.Since(start)
		alive := elapsed < MaxWait && w.alive(req.Context()) == nil
		mu.Lock()
		defer mu.Unlock()
		switch {
		case answered || req.Context().Err() != nil:
			// Answered meanwhile, or the caller gave up (the request
			// ends with its error).
		case alive:
			timer.Reset(w.timeout)
		default:
			gaveUp, waited = true, elapsed
			cancel()
		}
	})
	mu.Unlock()
	resp, err := w.base.RoundTrip(req.WithContext(ctx))
	mu.Lock()
	answered = true
	timer.Stop()
	mu.Unlock()
	if gaveUp {
		if err == nil {
			resp.Body.Close()
		}
		return nil, errNoAnswer{waited: waited}
	}
	if err != nil {
		cancel()
		return nil, err
	}
	w.answered()
	if wt, ok := resp.Body.(io.WriterTo); ok {
		resp.Body = &cancelWriterToBody{cancelBody{ReadCloser: resp.Body, cancel: cancel}, wt}
	} else {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	}
	return resp, nil
}

// alive probes the upstream, sharing one probe among concurrent callers
// and reusing a success younger than timeout/2 or a failure younger than
// a second.
func (w *watchdog) alive(ctx context.Context) error {
	w.mu.Lock()
	reuse := w.timeout / 2
	if w.probeErr != nil {
		reuse = downCheck
	}
	if time.Since(w.probedAt) < reuse {
		err := w.probeErr
		w.mu.Unlock()
		return err
	}
	ch := w.probing
	if ch == nil {
		ch = make(chan struct{})
		w.probing = ch
		go w.runProbe(ch)
	}
	w.mu.Unlock()
	select {
	case <-ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.probeErr
}

func (w *watchdog) runProbe(ch chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), w.probeTimeout)
	err := w.probe(ctx)
	cancel()
	if err != nil && !isTransportErr(err) {
		err = nil // any S3 answer (even an error) shows the upstream is alive
	}
	w.mu.Lock()
	w.probeErr, w.probedAt, w.probing = err, time.Now(), nil
	w.mu.Unlock()
	close(ch)
}

// cancelBody releases the request's context once the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// cancelWriterToBody is a cancelBody that keeps its body's WriteTo (a
// spliceTransport body's, which can splice).
type cancelWriterToBody struct {
	cancelBody
	wt io.WriterTo
}

func (b *cancelWriterToBody) WriteTo(w io.Writer) (int64, error) { return b.wt.WriteTo(w) }
