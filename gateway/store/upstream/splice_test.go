package upstream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/store/storetest"
)

// spliceServer serves GET /<n>[?close|chunked|stall] with n generated
// bytes; it counts the connections the transport opens.
type spliceServer struct {
	*httptest.Server
	dials atomic.Int64
	tr    *spliceTransport
}

func newSpliceServer(t *testing.T) *spliceServer {
	t.Helper()
	s := &spliceServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.URL.Path[1:])
		if err != nil {
			http.Error(w, "bad size", http.StatusBadRequest)
			return
		}
		data := storetest.Data(uint64(n), n)
		switch r.URL.RawQuery {
		case "close":
			w.Header().Set("Connection", "close")
		case "chunked":
			w.Write(data[:n/2])
			w.(http.Flusher).Flush()
			w.Write(data[n/2:])
			return
		case "stall":
			w.Header().Set("Content-Length", strconv.Itoa(n))
			w.Write(data[:n/2])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(data)
	}))
	t.Cleanup(s.Close)
	d := &net.Dialer{}
	s.tr = newSpliceTransport(http.DefaultTransport, func(ctx context.Context, network, addr string) (net.Conn, error) {
		s.dials.Add(1)
		return d.DialContext(ctx, network, addr)
	})
	t.Cleanup(s.tr.CloseIdleConnections)
	return s
}

func (s *spliceServer) get(t *testing.T, ctx context.Context, path string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s.tr.RoundTrip(req)
}

func TestSpliceTransport(t *testing.T) {
	s := newSpliceServer(t)
	for _, c := range []struct {
		name      string
		path      string
		size      int
		read      func(io.Reader, *storetest.ReadFromRecorder) error
		wantDials int64 // after the request, from a fresh transport
		spliced   bool  // WriteTo handed the connection to ReadFrom
	}{
		{"ReadAll", "/100000", 100000, readAll, 1, false},
		{"Empty", "/0", 0, readAll, 1, false},
		{"WriteTo", "/3000000", 3000000, writeTo, 1, true},
		{"SmallWriteTo", "/10", 10, writeTo, 1, false}, // arrived with the header
		{"Chunked", "/200000?chunked", 200000, readAll, 1, false},
		{"ConnectionClose", "/5000?close", 5000, readAll, 1, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s.tr.CloseIdleConnections()
			s.dials.Store(0)
			for i := range 3 {
				resp, err := s.get(t, t.Context(), c.path)
				if err != nil {
					t.Fatal(err)
				}
				var spy storetest.ReadFromRecorder
				if err := c.read(resp.Body, &spy); err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if !bytes.Equal(spy.Bytes(), storetest.Data(uint64(c.size), c.size)) {
					t.Fatalf("request %d: %d bytes, not the %d served", i, spy.Len(), c.size)
				}
				if got := spliced(spy.Sources); got != c.spliced {
					t.Errorf("request %d: ReadFrom given the connection: %v, want %v (%T)", i, got, c.spliced, spy.Sources)
				}
			}
			// Bodies read to their end leave their connection for the
			// next request, unless the server closes it.
			want := int64(1)
			if c.name == "ConnectionClose" {
				want = 3
			}
			if got := s.dials.Load(); got != want {
				t.Errorf("%d connections for 3 requests, want %d", got, want)
			}
		})
	}
}

func readAll(r io.Reader, w *storetest.ReadFromRecorder) error {
	b, err := io.ReadAll(r)
	w.Write(b)
	return err
}

func writeTo(r io.Reader, w *storetest.ReadFromRecorder) error {
	wt, ok := r.(io.WriterTo)
	if !ok {
		return fmt.Errorf("%T has no WriteTo", r)
	}
	_, err := wt.WriteTo(w)
	return err
}

// spliced reports whether one of srcs is the connection itself (limited).
func spliced(srcs []io.Reader) bool {
	for _, r := range srcs {
		if lr, ok := r.(*io.LimitedReader); ok {
			if _, ok := lr.R.(*net.TCPConn); ok {
				return true
			}
		}
	}
	return false
}

// A body closed before its end, or whose request was cancelled, does not
// leave its connection for reuse; an idle connection the server closed
// is replaced without an error.
func TestSpliceTransportConnections(t *testing.T) {
	s := newSpliceServer(t)

	resp, err := s.get(t, t.Context(), "/1000000")
	if err != nil {
		t.Fatal(err)
	}
	io.CopyN(io.Discard, resp.Body, 10)
	resp.Body.Close()
	if n := idleCount(s.tr); n != 0 {
		t.Errorf("a body closed early left %d idle connections", n)
	}

	ctx, cancel := context.WithCancel(t.Context())
	resp, err = s.get(t, ctx, "/1000000?stall")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, err = io.Copy(io.Discard, resp.Body)
	if err == nil || time.Since(start) > 5*time.Second {
		t.Errorf("read of a stalled body after cancellation: %v after %s", err, time.Since(start))
	}
	resp.Body.Close()
	if n := idleCount(s.tr); n != 0 {
		t.Errorf("a cancelled body left %d idle connections", n)
	}

	for i := range 3 {
		resp, err := s.get(t, t.Context(), "/5000")
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		s.CloseClientConnections() // the idle connection dies
	}

	// Requests with bodies, and other methods, go to next.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPut, s.URL+"/5", bytes.NewReader([]byte("x")))
	before := s.dials.Load()
	if resp, err := s.tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	if s.dials.Load() != before {
		t.Error("a PUT used the splice transport's connections")
	}
}

// A server that never answers: the request ends with its context.
func TestSpliceTransportNoAnswer(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	tr := newSpliceTransport(http.DefaultTransport, (&net.Dialer{}).DialContext)
	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+l.Addr().String()+"/x", nil)
	start := time.Now()
	_, err = tr.RoundTrip(req)
	if err == nil || !errors.Is(ctx.Err(), context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("RoundTrip = %v after %s", err, time.Since(start))
	}
}

func idleCount(t *spliceTransport) int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, l := range t.idle {
		n += len(l)
	}
	return n
}
