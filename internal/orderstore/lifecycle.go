package orderstore

import (
	"context"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/lambda/storagecli/gateway/lifecycle"
	"github.com/lambda/storagecli/gateway/store"
)

// StartLifecycle runs the bucket lifecycle worker on st (one per open
// store) until the returned stop is called; stop waits for a run in
// progress to end. day gives the order's lifecycle day (0: S3's).
func StartLifecycle(st store.Store, day func() time.Duration, log *zap.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &lifecycle.Worker{Store: st, Day: day, Log: log}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		w.Run(ctx)
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			wg.Wait()
		})
	}
}
