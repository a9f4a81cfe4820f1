package embedded

import (
	"bytes"
	"context"

	"go.etcd.io/bbolt"

	"github.com/lambda/storagecli/gateway/store"
)

// Listings walk a bbolt cursor from a single Seek. With a delimiter, a key
// that rolls up into a common prefix P emits P once and the cursor Seeks
// past every key starting with P (P with its last byte incremented), so a
// common prefix of any size costs one step: a page costs O(page) cursor
// steps plus O(log n) per Seek, independent of the bucket's size.

// ListObjects returns a page of objects and common prefixes in key order.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts store.ListOptions) (*store.ListPage, error) {
	if !store.ValidBucketName(bucket) {
		return nil, store.ErrInvalidBucketName
	}
	limit := listLimit(opts.Limit)
	prefix, delim := []byte(opts.Prefix), []byte(opts.Delimiter)
	page := &store.ListPage{}
	err := s.view(func(tx *bbolt.Tx) error {
		objs := objectsOf(tx, bucket)
		if objs == nil {
			return store.ErrNoSuchBucket
		}
		start := prefix
		if opts.After != "" {
			var from []byte
			if cp, ok := store.CommonPrefix(opts.After, opts.Prefix, opts.Delimiter); ok {
				if from = prefixEnd([]byte(cp)); from == nil {
					return nil // nothing sorts after cp's keys
				}
			} else {
				from = append([]byte(opts.After), 0) // the key right after After
			}
			if bytes.Compare(from, start) > 0 {
				start = from
			}
		}
		c := objs.Cursor()
		n, steps := 0, int64(0)
		defer func() { s.listSteps.Add(steps) }()
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); steps++ {
			if n == limit {
				page.Truncated = true
				break
			}
			n++
			if cp := rollUp(k, prefix, delim); cp != nil {
				page.Next = string(cp)
				page.CommonPrefixes = append(page.CommonPrefixes, page.Next)
				end := prefixEnd(cp)
				if end == nil {
					break
				}
				k, v = c.Seek(end)
				continue
			}
			rec, err := decodeObject(v, decodeList)
			if err != nil {
				return err
			}
			page.Next = string(k)
			page.Objects = append(page.Objects, *rec.object(page.Next))
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}

// listLimit applies the default and maximum page size.
func listLimit(n int) int {
	if n <= 0 || n > store.MaxListKeys {
		return store.MaxListKeys
	}
	return n
}

// rollUp returns the common prefix key (which starts with prefix) rolls up
// into, or nil.
func rollUp(key, prefix, delim []byte) []byte {
	if len(delim) == 0 {
		return nil
	}
	i := bytes.Index(key[len(prefix):], delim)
	if i < 0 {
		return nil
	}
	return bytes.Clone(key[:len(prefix)+i+len(delim)])
}

// prefixEnd returns the smallest byte string greater than every string
// starting with p, or nil if there is none (p is all 0xff).
func prefixEnd(p []byte) []byte {
	end := bytes.Clone(p)
	for i := len(end) - 1; i >= 0; i-- {
		if end[i] < 0xff {
			end[i]++
			return end[:i+1]
		}
	}
	return nil
}

// ListMultipartUploads lists in-progress uploads ordered by key, then by
// initiation time, starting after (KeyMarker, UploadIDMarker).
func (s *Store) ListMultipartUploads(ctx context.Context, bucket string, opts store.UploadsOptions) (*store.UploadsPage, error) {
	if !store.ValidBucketName(bucket) {
		return nil, store.ErrInvalidBucketName
	}
	limit := listLimit(opts.Limit)
	prefix, delim := []byte(opts.Prefix), []byte(opts.Delimiter)
	page := &store.UploadsPage{}
	err := s.view(func(tx *bbolt.Tx) error {
		ups := uploadsOf(tx, bucket)
		if ups == nil {
			return store.ErrNoSuchBucket
		}
		if bytes.IndexByte(prefix, 0) >= 0 {
			return nil // no key contains NUL
		}
		start := prefix
		if opts.KeyMarker != "" {
			var from []byte
			if cp, ok := store.CommonPrefix(opts.KeyMarker, opts.Prefix, opts.Delimiter); ok {
				if from = prefixEnd([]byte(cp)); from == nil {
					return nil
				}
			} else if id, ok := parseUploadID(opts.UploadIDMarker); ok {
				from = append(uploadKey(opts.KeyMarker, id), 0) // right after that upload
			} else {
				from = append([]byte(opts.KeyMarker), 1) // after every upload of KeyMarker
			}
			if bytes.Compare(from, start) > 0 {
				start = from
			}
		}
		c := ups.Cursor()
		n := 0
		for k, v := c.Seek(start); k != nil && bytes.HasPrefix(k, prefix); {
			if n == limit {
				page.Truncated = true
				break
			}
			n++
			if len(k) < len(uploadID{})+1 {
				return errCorrupt
			}
			key := k[:len(k)-len(uploadID{})-1]
			if cp := rollUp(key, prefix, delim); cp != nil {
				page.NextKeyMarker, page.NextUploadIDMarker = string(cp), ""
				page.CommonPrefixes = append(page.CommonPrefixes, page.NextKeyMarker)
				end := prefixEnd(cp)
				if end == nil {
					break
				}
				k, v = c.Seek(end)
				continue
			}
			var id uploadID
			copy(id[:], k[len(key)+1:])
			rec, err := decodeUpload(v)
			if err != nil {
				return err
			}
			u := rec.upload(string(key), id)
			page.Uploads = append(page.Uploads, u)
			page.NextKeyMarker, page.NextUploadIDMarker = u.Key, u.UploadID
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return page, nil
}
