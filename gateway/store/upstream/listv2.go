package upstream

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// listV2 is one upstream ListObjectsV2 answer, reduced to what listings
// and scans use.
type listV2 struct {
	Truncated      bool
	Contents       []listV2Object
	CommonPrefixes []string
}

// listV2Object is one entry of listV2.Contents.
type listV2Object struct {
	Key          string
	Size         int64
	ETag         string
	LastModified time.Time
}

// maxListV2Body bounds an upstream listing's body: 1000 entries of
// 1024-byte keys, percent-encoded, with their other fields.
const maxListV2Body = 16 << 20

// listV2Expiry is how long a presigned listing request stays valid.
const listV2Expiry = 5 * time.Minute

// listObjectsV2 asks the upstream for one ListObjectsV2 page (names
// percent-encoded by the upstream, decoded here). The request is presigned
// by minio-go and sent through the same transport as minio-go's requests;
// the answer is decoded by parseListV2, which costs a fraction of minio-go's
// decoder (that one fills every field of ObjectInfo through encoding/xml,
// about as much CPU as the upstream spends making the page). An answer
// other than 200 is asked again through minio-go, which turns it into its
// error.
func (s *Store) listObjectsV2(ctx context.Context, prefix, startAfter, delimiter string, maxKeys int) (*listV2, error) {
	q := url.Values{
		"list-type":     {"2"},
		"encoding-type": {"url"},
		"prefix":        {prefix},
		"max-keys":      {strconv.Itoa(maxKeys)},
	}
	if startAfter != "" {
		q.Set("start-after", startAfter)
	}
	if delimiter != "" {
		q.Set("delimiter", delimiter)
	}
	u, err := s.core.Presign(ctx, http.MethodGet, s.bucket, "", listV2Expiry, q)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := s.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return s.listObjectsV2Core(prefix, startAfter, delimiter, maxKeys)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxListV2Body+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxListV2Body {
		return nil, fmt.Errorf("upstream: listing answer larger than %d bytes", maxListV2Body)
	}
	return parseListV2(body)
}

// listObjectsV2Core is listObjectsV2 through minio-go's own request.
func (s *Store) listObjectsV2Core(prefix, startAfter, delimiter string, maxKeys int) (*listV2, error) {
	res, err := s.core.ListObjectsV2(s.bucket, prefix, startAfter, "", delimiter, maxKeys)
	if err != nil {
		return nil, err
	}
	l := &listV2{Truncated: res.IsTruncated, Contents: make([]listV2Object, len(res.Contents))}
	for i, o := range res.Contents {
		l.Contents[i] = listV2Object{Key: o.Key, Size: o.Size, ETag: o.ETag, LastModified: o.LastModified}
	}
	for _, p := range res.CommonPrefixes {
		l.CommonPrefixes = append(l.CommonPrefixes, p.Prefix)
	}
	return l, nil
}

// parseListV2 decodes a ListBucketResult: with scanListV2 when the
// document has the plain shape S3 servers write, else with encoding/xml.
func parseListV2(doc []byte) (*listV2, error) {
	l, encoding, ok := scanListV2(doc)
	if !ok {
		var err error
		if l, encoding, err = decodeListV2(doc); err != nil {
			return nil, err
		}
	}
	if err := decodeNames(l, encoding); err != nil {
		return nil, err
	}
	return l, nil
}

// decodeListV2 decodes a ListBucketResult with encoding/xml.
func decodeListV2(doc []byte) (*listV2, string, error) {
	var r struct {
		XMLName        xml.Name `xml:"ListBucketResult"`
		IsTruncated    bool
		EncodingType   string
		Contents       []listV2Object
		CommonPrefixes []struct{ Prefix string }
	}
	if err := xml.Unmarshal(doc, &r); err != nil {
		return nil, "", fmt.Errorf("upstream: listing answer: %w", err)
	}
	l := &listV2{Truncated: r.IsTruncated, Contents: r.Contents}
	for _, p := range r.CommonPrefixes {
		l.CommonPrefixes = append(l.CommonPrefixes, p.Prefix)
	}
	return l, r.EncodingType, nil
}

// decodeNames undoes encoding-type=url on the listing's names, as minio-go
// does (url.QueryUnescape).
func decodeNames(l *listV2, encoding string) error {
	switch encoding {
	case "":
		return nil
	case "url":
	default:
		return fmt.Errorf("upstream: listing names in unknown encoding %q", encoding)
	}
	var err error
	for i := range l.Contents {
		if l.Contents[i].Key, err = unescapeName(l.Contents[i].Key); err != nil {
			return err
		}
	}
	for i := range l.CommonPrefixes {
		if l.CommonPrefixes[i], err = unescapeName(l.CommonPrefixes[i]); err != nil {
			return err
		}
	}
	return nil
}

func unescapeName(s string) (string, error) {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' || s[i] == '+' {
			u, err := url.QueryUnescape(s)
			if err != nil {
				return "", errors.New("upstream: listing returned a badly encoded name")
			}
			return u, nil
		}
	}
	return s, nil
}
