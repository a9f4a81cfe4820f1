package gateway

import (
	"errors"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Defaults of Limits.
const (
	// DefaultReadIdle is how long a request body may stop arriving: AWS
	// answers 400 RequestTimeout after about 20 seconds without data.
	DefaultReadIdle = 20 * time.Second
	// DefaultWriteIdle is how long a response may wait for the client to
	// read it (a download's reader may pause for a while; a stalled one
	// must not keep the object's data open forever).
	DefaultWriteIdle = 60 * time.Second
	// DefaultUploads is the number of uploads (PutObject, UploadPart) an
	// order may have in flight at once.
	DefaultUploads = 1024
	// DefaultUploadsPerKey is the number of uploads in flight to one key
	// (the parts of a multipart upload count for its key).
	DefaultUploadsPerKey = 64
)

// writeChunk is the most one write to the client may carry under one
// write deadline: a slow but steady download is never cut off, as long as
// it reads writeChunk bytes per WriteIdle.
const writeChunk = 64 << 10

// Limits bound what one request may hold. The zero value means the
// defaults; a negative value turns a limit off.
type Limits struct {
	// ReadIdle: a request body that stops arriving for this long fails
	// with 400 RequestTimeout (its capacity reservation is released).
	ReadIdle time.Duration
	// WriteIdle: a response the client stops reading for this long is cut
	// off (the connection is closed).
	WriteIdle time.Duration
	// Uploads: at most this many uploads of the order in flight; more
	// answer 503 SlowDown.
	Uploads int
	// UploadsPerKey: at most this many uploads to one key in flight.
	UploadsPerKey int
}

// withDefaults returns l with zero values replaced by the defaults and
// negative ones by 0 (no limit).
func (l Limits) withDefaults() Limits {
	return Limits{
		ReadIdle:      orDefault(l.ReadIdle, DefaultReadIdle),
		WriteIdle:     orDefault(l.WriteIdle, DefaultWriteIdle),
		Uploads:       orDefault(l.Uploads, DefaultUploads),
		UploadsPerKey: orDefault(l.UploadsPerKey, DefaultUploadsPerKey),
	}
}

// orDefault is def for 0, 0 (no limit) for a negative v, else v.
func orDefault[T int | time.Duration](v, def T) T {
	switch {
	case v == 0:
		return def
	case v < 0:
		return 0
	}
	return v
}

// Uploads counts an order's uploads in flight. Handlers serving the same
// order (one per site, or old and new across a Caddy reload) share one,
// like the Meter; the zero value is ready to use.
type Uploads struct {
	mu    sync.Mutex
	total int
	keys  map[string]int
}

// errTooManyUploads is the answer beyond a cap: 503 SlowDown, which SDKs
// retry after a backoff.
var errTooManyUploads = s3err.SlowDown.WithMessage("Please reduce your request rate: too many uploads in progress.")

// acquire counts one upload to key, or refuses it when the order has max
// in flight or the key perKey (0: no limit). release gives it back.
func (u *Uploads) acquire(key string, max, perKey int) (release func(), err error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if (max > 0 && u.total >= max) || (perKey > 0 && u.keys[key] >= perKey) {
		return nil, errTooManyUploads
	}
	if u.keys == nil {
		u.keys = make(map[string]int)
	}
	u.total++
	u.keys[key]++
	return func() {
		u.mu.Lock()
		defer u.mu.Unlock()
		u.total--
		if u.keys[key]--; u.keys[key] <= 0 {
			delete(u.keys, key)
		}
	}, nil
}

// InFlight returns the number of uploads in flight.
func (u *Uploads) InFlight() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.total
}

// admit applies the upload caps to an authenticated request: uploads
// (PutObject, UploadPart, PostObject) take a slot for their duration. The returned
// func releases it.
func (h *Handler) admit(rc *reqContext) (func(), error) {
	if rc.op != "PutObject" && rc.op != "UploadPart" && rc.op != "PostObject" {
		return func() {}, nil
	}
	return h.uploads.acquire(rc.bucket+"/"+rc.key, h.limits.Uploads, h.limits.UploadsPerKey)
}

// deadlines applies a request's idle timeouts through its
// http.ResponseController, reset as bytes flow. The controller reaches the
// connection through wrappers that implement Unwrap; Caddy's own idle
// timeout wrappers (Caddy >= 2.11) take a deadline set this way as a
// ceiling for theirs, so the shorter of the two applies. The server's own
// ReadTimeout and WriteTimeout, if any, stay ceilings too.
type deadlines struct {
	ctl         *http.ResponseController
	read, write time.Duration // 0: none
	// hardRead and hardWrite are the server's ReadTimeout and
	// WriteTimeout deadlines (zero: none): never extended, and what
	// "no idle deadline" puts back.
	hardRead, hardWrite time.Time
	// timers: the deadlines are timers that fail the stream when they fire
	// even with no read or write in flight (HTTP/2): clear them between
	// operations. On HTTP/1 a deadline is only checked by the next read or
	// write of the connection.
	timers bool
}

// A nil *deadlines applies none.

func newDeadlines(w http.ResponseWriter, r *http.Request, l Limits) *deadlines {
	d := &deadlines{ctl: http.NewResponseController(w), read: l.ReadIdle, write: l.WriteIdle, timers: r.ProtoMajor == 2}
	if srv, ok := r.Context().Value(http.ServerContextKey).(*http.Server); ok {
		now := time.Now()
		if srv.ReadTimeout > 0 {
			d.hardRead = now.Add(srv.ReadTimeout)
		}
		if srv.WriteTimeout > 0 {
			d.hardWrite = now.Add(srv.WriteTimeout)
		}
	}
	return d
}

// set calls fn (SetReadDeadline or SetWriteDeadline) with the deadline
// idle from now (none if idle is 0), capped by hard, and turns the
// deadline off for this request if the writer does not support it.
func set(fn func(time.Time) error, idle *time.Duration, hard time.Time) {
	t := hard
	if *idle > 0 {
		if i := time.Now().Add(*idle); t.IsZero() || i.Before(t) {
			t = i
		}
	}
	if err := fn(t); errors.Is(err, http.ErrNotSupported) {
		*idle = 0
	}
}

// beforeRead arms the read deadline for one body read.
func (d *deadlines) beforeRead() {
	if d != nil && d.read > 0 {
		set(d.ctl.SetReadDeadline, &d.read, d.hardRead)
	}
}

// afterRead clears the read deadline after a read that did not time out:
// between reads (HTTP/2), and at the end of the body, where net/http
// starts its own read of the connection that a leftover deadline would
// fail. A deadline that expired stays armed: it bounds net/http's drain of
// the rest of the body after the handler.
func (d *deadlines) afterRead(err error) {
	if d == nil || d.read <= 0 || (err == nil && !d.timers) || isTimeout(err) {
		return
	}
	none := time.Duration(0)
	set(d.ctl.SetReadDeadline, &none, d.hardRead)
}

// start clears a write deadline left by an earlier request on the
// connection (HTTP/1 keeps it between requests).
func (d *deadlines) start() {
	if d != nil && d.write > 0 && !d.timers {
		none := time.Duration(0)
		set(d.ctl.SetWriteDeadline, &none, d.hardWrite)
	}
}

// beforeWrite arms the write deadline for one write.
func (d *deadlines) beforeWrite() {
	if d != nil && d.write > 0 {
		set(d.ctl.SetWriteDeadline, &d.write, d.hardWrite)
	}
}

// afterWrite clears the write deadline between writes (HTTP/2).
func (d *deadlines) afterWrite() {
	if d != nil && d.write > 0 && d.timers {
		none := time.Duration(0)
		set(d.ctl.SetWriteDeadline, &none, d.hardWrite)
	}
}

// end arms a last write deadline for what net/http writes after the
// handler returns (buffered response bytes, the end of a chunked body).
func (d *deadlines) end() {
	d.beforeWrite()
}

// isTimeout reports whether err is a deadline's (a network timeout).
func isTimeout(err error) bool {
	var te interface{ Timeout() bool }
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &te) && te.Timeout()
}
