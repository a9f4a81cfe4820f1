package store

import (
	"context"
	"errors"
)

// Count is an order's usage recomputed from its listings (see Recount).
type Count struct {
	Usage
	// Data is the part of Bytes that is object and part bytes alone.
	Data int64
}

// Recount computes an order's usage from its contents, charging what the
// listings show as the Store charges it (cost.go): every bucket, every
// object (its key, the metadata its listing carries, its bytes), every
// upload in progress (its key and metadata) and each of its parts. This is
// what Usage must report. It reads the whole order (Usage is the cheap
// way); run it on a store nobody writes to, or the two differ by the
// writes made meanwhile.
func Recount(ctx context.Context, st Store) (Count, error) {
	var c Count
	buckets, err := st.ListBuckets(ctx)
	if err != nil {
		return c, err
	}
	for _, b := range buckets {
		c.Bytes += BucketCost(b.Name)
		if err := c.configs(ctx, st, b.Name); err != nil {
			return c, err
		}
		if err := c.objects(ctx, st, b.Name); err != nil {
			return c, err
		}
		if err := c.uploads(ctx, st, b.Name); err != nil {
			return c, err
		}
	}
	return c, nil
}

func (c *Count) configs(ctx context.Context, st Store, bucket string) error {
	for _, name := range ConfigNames {
		doc, err := st.GetBucketConfig(ctx, bucket, name)
		if errors.Is(err, ErrNoSuchConfig) {
			continue
		}
		if err != nil {
			return err
		}
		c.Bytes += ConfigCost(name, len(doc))
	}
	return nil
}

func (c *Count) objects(ctx context.Context, st Store, bucket string) error {
	err := c.versions(ctx, st, bucket)
	if !errors.Is(err, ErrNotSupported) {
		return err
	}
	for after := ""; ; { // a store without versions: its objects
		page, err := st.ListObjects(ctx, bucket, ListOptions{After: after})
		if err != nil {
			return err
		}
		for _, o := range page.Objects {
			c.Bytes += ObjectCost(o.Key, o.Size, &o.Meta)
			c.Data += o.Size
			c.Objects++
		}
		if !page.Truncated {
			return nil
		}
		after = page.Next
	}
}

// versions counts every version and delete marker of bucket.
func (c *Count) versions(ctx context.Context, st Store, bucket string) error {
	opts := VersionsOptions{}
	for {
		page, err := st.ListObjectVersions(ctx, bucket, opts)
		if err != nil {
			return err
		}
		for _, o := range page.Versions {
			if o.DeleteMarker {
				c.Bytes += DeleteMarkerCost(o.Key)
				continue
			}
			c.Bytes += ObjectCost(o.Key, o.Size, &o.Meta)
			c.Data += o.Size
			c.Objects++
		}
		if !page.Truncated {
			return nil
		}
		opts.KeyMarker, opts.VersionIDMarker = page.NextKeyMarker, page.NextVersionIDMarker
	}
}

func (c *Count) uploads(ctx context.Context, st Store, bucket string) error {
	opts := UploadsOptions{}
	for {
		page, err := st.ListMultipartUploads(ctx, bucket, opts)
		if err != nil {
			return err
		}
		for _, up := range page.Uploads {
			c.Bytes += UploadCost(up.Key, &up.Meta)
			if err := c.parts(ctx, st, bucket, up); err != nil {
				return err
			}
		}
		if !page.Truncated {
			return nil
		}
		opts.KeyMarker, opts.UploadIDMarker = page.NextKeyMarker, page.NextUploadIDMarker
	}
}

func (c *Count) parts(ctx context.Context, st Store, bucket string, up Upload) error {
	for after := 0; ; {
		parts, err := st.ListParts(ctx, bucket, up.Key, up.UploadID, after, 0)
		if err != nil {
			return err
		}
		for _, p := range parts.Parts {
			c.Bytes += PartCost(p.Size)
			c.Data += p.Size
		}
		if !parts.Truncated {
			return nil
		}
		after = parts.Next
	}
}
