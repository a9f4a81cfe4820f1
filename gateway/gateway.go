// Package gateway is the S3 protocol layer: an http.Handler that routes S3
// requests (path style and virtual-hosted style), authenticates them with
// AWS Signature V4, and serves one order's data from a store.Store. It has no
// Caddy dependency: cmd/storagecli and the Caddy module serve the same code.
package gateway

import (
	"net/http"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/store"
)

// Options configure a Handler.
type Options struct {
	// Store holds the order's data.
	Store store.Store
	// Credentials maps access keys to secret keys. Requests signed with any
	// other key are refused; anonymous requests are always refused.
	Credentials map[string]string
	// Region is the region signatures must be scoped to; empty accepts any.
	Region string
	// Domain enables virtual-hosted style requests: <bucket>.<Domain>.
	Domain string
	// Logger receives errors and, with Debug, one line per request.
	Logger *zap.Logger
	// Debug logs every request.
	Debug bool
}

// Handler serves the S3 API. Create it with New.
type Handler struct {
	opts Options
}

// New returns a Handler serving opts.Store.
func New(opts Options) (*Handler, error) {
	if opts.Logger == nil {
		opts.Logger = zap.NewNop()
	}
	return &Handler{opts: opts}, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "not ready", http.StatusServiceUnavailable)
}
