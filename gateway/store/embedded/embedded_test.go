package embedded

import (
	"testing"

	"github.com/lambda/storagecli/gateway/store"
	"github.com/lambda/storagecli/gateway/store/storetest"
)

// openTest opens a store in a fresh directory, closed at the end of t.
func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	s, err := Open(t.TempDir(), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	for _, c := range []struct {
		name string
		opts Options
	}{
		{"Inline", Options{}},
		{"NeverInline", Options{InlineLimit: -1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, c.opts) })
		})
	}
}
