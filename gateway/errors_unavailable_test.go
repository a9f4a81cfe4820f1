package gateway

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// down is a store error meaning "the storage cannot be reached now", like
// upstream.ErrUnavailable.
type down struct{}

func (down) Error() string     { return "down" }
func (down) Unavailable() bool { return true }

func TestToS3ErrorUnavailable(t *testing.T) {
	tests := []struct {
		err      error
		want     *s3err.Error
		internal bool
	}{
		{fmt.Errorf("upstream: %w: connection refused", down{}), s3err.ServiceUnavailable, false},
		{fmt.Errorf("upstream: %w", store.ErrNoSuchKey), s3err.NoSuchKey, false},
		{context.Canceled, s3err.RequestTimeout, false},
		{errors.New("boom"), s3err.InternalError, true},
	}
	for _, tt := range tests {
		got, internal := toS3Error(tt.err)
		if got != tt.want || internal != tt.internal {
			t.Errorf("toS3Error(%v) = %s, %v; want %s, %v", tt.err, got.Code, internal, tt.want.Code, tt.internal)
		}
	}
}
