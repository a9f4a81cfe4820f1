package upstream

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

// watchdogServer answers /probe at once (unless hung), /slow after delay
// and /fast at once; hung makes every request wait until the test ends.
type watchdogServer struct {
	*httptest.Server
	hung  atomic.Bool
	delay time.Duration
	end   chan struct{}
}

func newWatchdogServer(t *testing.T, delay time.Duration) *watchdogServer {
	ws := &watchdogServer{delay: delay, end: make(chan struct{})}
	ws.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ws.hung.Load() {
			select {
			case <-ws.end:
			case <-r.Context().Done():
			}
			return
		}
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(ws.delay):
			case <-r.Context().Done():
				return
			}
		}
		io.WriteString(w, "ok")
	}))
	t.Cleanup(func() { close(ws.end); ws.Close() })
	return ws
}

// watchdog returns a watchdog over ws whose probe answers at once while
// ws is not hung and times out while it is (the real probe, a HEAD of the
// upstream bucket, is tested with the store: TestHungUpstream); probes
// then do not depend on how loaded the machine is.
func (ws *watchdogServer) watchdog(timeout time.Duration) *watchdog {
	return newWatchdog(&http.Transport{}, timeout, func(ctx context.Context) error {
		if ws.hung.Load() {
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	})
}

func get(t *testing.T, w *watchdog, url string) (string, error) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	resp, err := w.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestWatchdog(t *testing.T) {
	const timeout = 200 * time.Millisecond
	ws := newWatchdogServer(t, 5*timeout)
	w := ws.watchdog(timeout)

	// Slow but alive: the request waits past timeout and gets its answer.
	if got, err := get(t, w, ws.URL+"/slow"); err != nil || got != "ok" {
		t.Fatalf("slow request: %q, %v", got, err)
	}
	if w.down() {
		t.Error("down after a slow answer")
	}

	// Hung: the request fails with a timeout that maps to ErrUnavailable.
	ws.hung.Store(true)
	_, err := get(t, w, ws.URL+"/fast")
	var ne errNoAnswer
	if !errors.As(err, &ne) || !errors.Is((&Store{}).mapErr(err), ErrUnavailable) {
		t.Fatalf("hung upstream: %v, want errNoAnswer mapping to ErrUnavailable", err)
	}
	if !w.down() {
		t.Error("not down after a failed probe")
	}
	// While down, requests look at the probe after downCheck, not timeout
	// (here they are equal in effect; what matters is that they fail).
	if _, err := get(t, w, ws.URL+"/fast"); !errors.As(err, &ne) {
		t.Errorf("second request to a hung upstream: %v", err)
	}

	// Back: requests work again, and the first good probe ends "down".
	ws.hung.Store(false)
	if got, err := get(t, w, ws.URL+"/fast"); err != nil || got != "ok" {
		t.Fatalf("after recovery: %q, %v", got, err)
	}
	if got, err := get(t, w, ws.URL+"/slow"); err != nil || got != "ok" {
		t.Fatalf("slow after recovery: %q, %v", got, err)
	}
	if w.down() {
		t.Error("still down after a successful probe")
	}
}

// A client that gives up cancels the upstream request at once.
func TestWatchdogCancel(t *testing.T) {
	ws := newWatchdogServer(t, time.Hour)
	w := ws.watchdog(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ws.URL+"/slow", nil)
	_, err := w.RoundTrip(req)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the client's deadline", err)
	}
}
