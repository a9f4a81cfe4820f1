package order

import (
	"context"

	"github.com/lambda/storagecli/gateway/store"
)

// Recount computes an order's usage from its contents, charged as
// store.Recount describes: what store.Usage must report. Run it on a
// store nobody writes to, or the two differ by the writes made meanwhile.
func Recount(ctx context.Context, st store.Store) (store.Usage, error) {
	c, err := store.Recount(ctx, st)
	return c.Usage, err
}
