package console

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/lambda/storagecli/gateway"
	"github.com/lambda/storagecli/gateway/console"
	"github.com/lambda/storagecli/gateway/order"
	"github.com/lambda/storagecli/gateway/store/embedded"
)

// Key pairs of the test order.
const (
	rwKey, rwSecret = "consoleadmin", "s3cr3t-rw-0123456789abcdef"
	roKey, roSecret = "consolereader", "s3cr3t-ro-0123456789abcdef"
	capacity        = 1_000_000_000
)

// served is a gateway with its console, in this process.
type served struct {
	URL  string
	GW   *gateway.Handler
	logs *logBuffer
}

// logBuffer keeps every log line (to check that no secret is logged).
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}
func (l *logBuffer) Sync() error { return nil }
func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// testOrder is an order of 1 GB expiring in three days, with a read-write
// and a read-only key.
func testOrder() *order.Order {
	return &order.Order{ID: "console-test", Capacity: capacity, Expires: time.Now().Add(72 * time.Hour),
		Keys: []order.Key{{AccessKey: rwKey, SecretKey: rwSecret}, {AccessKey: roKey, SecretKey: roSecret, ReadOnly: true}}}
}

// serve starts the gateway and its console for testOrder.
func serve(t *testing.T) *served { t.Helper(); return serveOrder(t, testOrder()) }

// serveOrder starts the gateway and its console for the order on an
// embedded store, with debug logging (every request) into a buffer.
func serveOrder(t *testing.T, o *order.Order) *served {
	t.Helper()
	logs := &logBuffer{}
	log := zap.New(zapcore.NewCore(zapcore.NewJSONEncoder(zap.NewDevelopmentEncoderConfig()), logs, zap.DebugLevel))
	st, err := embedded.Open(filepath.Join(t.TempDir(), "data"), embedded.Options{NoSync: true, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	gw, err := gateway.New(gateway.Options{Store: st, Order: o, Logger: log, Debug: true})
	if err != nil {
		t.Fatal(err)
	}
	con, err := console.New(console.Options{Gateway: gw, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(con.Wrap(gw))
	t.Cleanup(srv.Close)
	return &served{URL: srv.URL, GW: gw, logs: logs}
}

func (s *served) usage(t *testing.T) gateway.Usage {
	t.Helper()
	u, err := s.GW.Usage(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// get fetches url with c and returns the status and body.
func get(t *testing.T, c *http.Client, url string) (int, []byte) {
	t.Helper()
	resp, err := c.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}
