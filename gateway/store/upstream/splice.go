package upstream

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// spliceTransport sends body-less GETs to a plain-HTTP upstream over HTTP/1.1
// connections of its own, and everything else through next. Its answers'
// bodies read straight from the connection (not through net/http's
// buffering and its reading goroutine), and their WriteTo hands the
// connection to the destination's ReadFrom: a GET served to a client over
// plain TCP moves the object from socket to socket with splice(2), never
// copying it through the gateway's memory. The bytes that arrived with the
// answer's header are written first.
//
// Connections are kept for reuse when an answer's body was read to its end
// (as net/http does); a request that fails on a reused connection before
// any answer is sent again on a new one (GETs are idempotent), so an idle
// connection the upstream closed is never an error.
type spliceTransport struct {
	next http.RoundTripper
	dial func(ctx context.Context, network, addr string) (net.Conn, error)

	mu   sync.Mutex
	idle map[string][]*rawConn // by host:port, most recently used last
}

// Idle connection limits of spliceTransport.
const (
	maxIdleSplice     = 64
	idleSpliceTimeout = 30 * time.Second
)

// rawConn is one HTTP/1.1 connection to the upstream.
type rawConn struct {
	c         *net.TCPConn
	br        *bufio.Reader
	idleSince time.Time
}

// longAgo is a deadline in the past: it makes blocked reads and writes
// return at once.
var longAgo = time.Unix(1, 0)

func newSpliceTransport(next http.RoundTripper, dial func(ctx context.Context, network, addr string) (net.Conn, error)) *spliceTransport {
	return &spliceTransport{next: next, dial: dial, idle: map[string][]*rawConn{}}
}

// RoundTrip implements http.RoundTripper.
func (t *spliceTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.URL.Scheme != "http" || (req.Body != nil && req.Body != http.NoBody) {
		return t.next.RoundTrip(req)
	}
	ctx := req.Context()
	for {
		rc, reused, err := t.conn(ctx, req.URL.Host)
		if err != nil {
			return nil, err
		}
		resp, err := t.exchange(req, rc)
		if err == nil {
			return resp, nil
		}
		rc.c.Close()
		if !reused || ctx.Err() != nil {
			return nil, err
		}
	}
}

// exchange sends req on rc and reads the answer's header.
func (t *spliceTransport) exchange(req *http.Request, rc *rawConn) (*http.Response, error) {
	stop := context.AfterFunc(req.Context(), func() { rc.c.SetDeadline(longAgo) })
	if err := req.Write(rc.c); err != nil {
		stop()
		return nil, err
	}
	resp, err := http.ReadResponse(rc.br, req)
	if err != nil {
		stop()
		return nil, err
	}
	if resp.ContentLength < 0 || len(resp.TransferEncoding) > 0 {
		// Not a plain body (chunked, or up to the connection's end):
		// net/http's reader decodes it.
		resp.Body = &decodedBody{ReadCloser: resp.Body, t: t, host: req.URL.Host, rc: rc,
			keep: !resp.Close && resp.ContentLength < 0 && len(resp.TransferEncoding) > 0, stop: stop}
		return resp, nil
	}
	resp.Body = &rawBody{t: t, host: req.URL.Host, rc: rc, left: resp.ContentLength, keep: !resp.Close, stop: stop}
	return resp, nil
}

// conn takes an idle connection to host, or dials one.
func (t *spliceTransport) conn(ctx context.Context, host string) (rc *rawConn, reused bool, err error) {
	t.mu.Lock()
	for l := t.idle[host]; len(l) > 0; l = t.idle[host] {
		rc = l[len(l)-1]
		t.idle[host] = l[:len(l)-1]
		if time.Since(rc.idleSince) < idleSpliceTimeout {
			t.mu.Unlock()
			return rc, true, nil
		}
		rc.c.Close()
	}
	t.mu.Unlock()
	c, err := t.dial(ctx, "tcp", host)
	if err != nil {
		return nil, false, err
	}
	tc, ok := c.(*net.TCPConn)
	if !ok {
		c.Close()
		return nil, false, errors.New("upstream: dialed a connection that is not TCP")
	}
	return &rawConn{c: tc, br: bufio.NewReaderSize(tc, 16<<10)}, false, nil
}

// put keeps rc for reuse, or closes it when enough are idle.
func (t *spliceTransport) put(host string, rc *rawConn) {
	if err := rc.c.SetDeadline(time.Time{}); err != nil {
		rc.c.Close()
		return
	}
	rc.idleSince = time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.idle == nil || len(t.idle[host]) >= maxIdleSplice {
		rc.c.Close()
		return
	}
	t.idle[host] = append(t.idle[host], rc)
}

// CloseIdleConnections closes the idle connections (its own and next's).
func (t *spliceTransport) CloseIdleConnections() {
	t.mu.Lock()
	for host, l := range t.idle {
		for _, rc := range l {
			rc.c.Close()
		}
		delete(t.idle, host)
	}
	t.mu.Unlock()
	if c, ok := t.next.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// rawBody is an answer's body of known length, read from the connection
// directly once the bytes buffered with the header are consumed.
type rawBody struct {
	t      *spliceTransport
	host   string
	rc     *rawConn
	left   int64 // bytes still to read
	keep   bool  // the upstream keeps the connection open
	failed bool
	closed bool
	stop   func() bool // unregisters the cancellation
}

func (b *rawBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	var n int
	var err error
	if b.rc.br.Buffered() > 0 {
		n, err = b.rc.br.Read(p)
	} else {
		n, err = b.rc.c.Read(p)
	}
	return n, b.account(int64(n), err)
}

// spliceBufs are the buffers of rawBody.WriteTo for destinations that
// cannot take the connection.
var spliceBufs = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// WriteTo writes the rest of the body to w: the bytes buffered with the
// header, then the connection itself (w's ReadFrom, when w has one,
// receives an *io.LimitedReader of the *net.TCPConn: splice(2) on Linux).
func (b *rawBody) WriteTo(w io.Writer) (int64, error) {
	var total int64
	if n := min(int64(b.rc.br.Buffered()), b.left); n > 0 {
		p, _ := b.rc.br.Peek(int(n))
		m, err := w.Write(p)
		b.rc.br.Discard(m)
		total += int64(m)
		if err = b.account(int64(m), err); err != nil {
			return total, err
		}
	}
	if b.left <= 0 {
		return total, nil
	}
	bp := spliceBufs.Get().(*[]byte)
	defer spliceBufs.Put(bp)
	n, err := io.CopyBuffer(w, &io.LimitedReader{R: b.rc.c, N: b.left}, *bp)
	total += n
	if err = b.account(n, err); err == nil && b.left > 0 {
		err = b.account(0, io.ErrUnexpectedEOF)
	}
	return total, err
}

// account records n bytes read and the read's error: any error but the
// body's end makes the connection unusable.
func (b *rawBody) account(n int64, err error) error {
	b.left -= n
	if err == io.EOF && b.left > 0 {
		err = io.ErrUnexpectedEOF
	}
	if err != nil && err != io.EOF {
		b.failed = true
	}
	return err
}

// Close keeps the connection for reuse if the body was read to its end
// and the request was not cancelled meanwhile; otherwise closes it.
func (b *rawBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	notCancelled := b.stop()
	if b.left == 0 && b.keep && !b.failed && notCancelled {
		b.t.put(b.host, b.rc)
		return nil
	}
	return b.rc.c.Close()
}

// decodedBody is a body net/http decodes (chunked, or delimited by the
// connection's end). A chunked body read to its end leaves the
// connection for reuse, as with rawBody.
type decodedBody struct {
	io.ReadCloser
	t      *spliceTransport
	host   string
	rc     *rawConn
	keep   bool // chunked and the upstream keeps the connection open
	eof    bool
	closed bool
	stop   func() bool
}

func (b *decodedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err == io.EOF {
		b.eof = true
	} else if err != nil {
		b.keep = false
	}
	return n, err
}

func (b *decodedBody) Close() error {
	if b.closed {
		return nil
	}
	b.closed = true
	notCancelled := b.stop()
	if b.eof && b.keep && notCancelled {
		b.t.put(b.host, b.rc)
		return nil
	}
	return b.rc.c.Close()
}
