package order

import (
	"context"

	"github.com/lambda/storagecli/gateway/store"
)

// Recount computes an order's usage from its contents: the size of every
// object plus every part of every upload in progress, which is what
// store.Usage must report. It reads the whole order (the store's Usage is
// the cheap way); run it on a store nobody writes to, or the two differ by
// the writes made meanwhile.
func Recount(ctx context.Context, st store.Store) (store.Usage, error) {
	var u store.Usage
	buckets, err := st.ListBuckets(ctx)
	if err != nil {
		return u, err
	}
	for _, b := range buckets {
		for after := ""; ; {
			page, err := st.ListObjects(ctx, b.Name, store.ListOptions{After: after})
			if err != nil {
				return u, err
			}
			for _, o := range page.Objects {
				u.Bytes += o.Size
				u.Objects++
			}
			if !page.Truncated {
				break
			}
			after = page.Next
		}
		opts := store.UploadsOptions{}
		for {
			page, err := st.ListMultipartUploads(ctx, b.Name, opts)
			if err != nil {
				return u, err
			}
			for _, up := range page.Uploads {
				for after := 0; ; {
					parts, err := st.ListParts(ctx, b.Name, up.Key, up.UploadID, after, 0)
					if err != nil {
						return u, err
					}
					for _, p := range parts.Parts {
						u.Bytes += p.Size
					}
					if !parts.Truncated {
						break
					}
					after = parts.Next
				}
			}
			if !page.Truncated {
				break
			}
			opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
		}
	}
	return u, nil
}
