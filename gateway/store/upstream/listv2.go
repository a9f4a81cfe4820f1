package upstream

import (
	"bytes"
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

// listV2 is one upstream ListObjectsV2 answer, reduced to what the
// lister uses.
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

// listObjectsV2 asks the upstream for one ListObjectsV2 page of at most
// maxKeys names (percent-encoded by the upstream, decoded here). The
// request is presigned by minio-go and sent through the same transport as
// minio-go's requests; the answer is decoded by parseListV2, which costs a
// fraction of minio-go's decoder (that one fills every field of ObjectInfo
// through encoding/xml, about as much CPU as the upstream spends making the
// page). A failed request, or an answer other than 200, is made again
// through minio-go, which retries what can be retried and turns the rest
// into its errors.
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
		if ctx.Err() != nil {
			return nil, err
		}
		return s.listObjectsV2Core(ctx, prefix, startAfter, delimiter, maxKeys)
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		return s.listObjectsV2Core(ctx, prefix, startAfter, delimiter, maxKeys)
	}
	body, err := readListBody(resp)
	if err != nil {
		return nil, err
	}
	l, err := parseListV2(body)
	if err != nil {
		return nil, err
	}
	if len(l.Contents)+len(l.CommonPrefixes) > maxKeys {
		return nil, fmt.Errorf("upstream: listing answer has %d names, %d asked for", len(l.Contents)+len(l.CommonPrefixes), maxKeys)
	}
	return l, nil
}

// readListBody reads and closes a listing answer's body, of at most
// maxListV2Body bytes.
func readListBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	var buf bytes.Buffer
	if n := resp.ContentLength; n > 0 && n <= maxListV2Body {
		buf.Grow(int(n) + 1) // room for the EOF read
	}
	if _, err := buf.ReadFrom(io.LimitReader(resp.Body, maxListV2Body+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxListV2Body {
		return nil, fmt.Errorf("upstream: listing answer larger than %d bytes", maxListV2Body)
	}
	return buf.Bytes(), nil
}

// listObjectsV2Core is listObjectsV2 through minio-go's own request
// (which does not take a context: ctx is checked before).
func (s *Store) listObjectsV2Core(ctx context.Context, prefix, startAfter, delimiter string, maxKeys int) (*listV2, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
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
// document has the plain shape S3 servers write, else with encoding/xml
// (unless its elements nest deeper than any S3 answer: encoding/xml's
// memory grows with the depth). Times are cut to milliseconds, the
// precision of S3 listings, as minio-go does.
func parseListV2(doc []byte) (*listV2, error) {
	l, encoding, ok := scanListV2(doc)
	if !ok {
		if nestingDepth(doc) > maxScanDepth {
			return nil, fmt.Errorf("upstream: listing answer nests elements deeper than %d", maxScanDepth)
		}
		var err error
		if l, encoding, err = decodeListV2(doc); err != nil {
			return nil, err
		}
	}
	if err := decodeNames(l, encoding); err != nil {
		return nil, err
	}
	for i := range l.Contents {
		l.Contents[i].LastModified = l.Contents[i].LastModified.Truncate(time.Millisecond)
	}
	return l, nil
}

// nestingDepth is an upper bound of how deep doc's elements nest (it
// counts start tags not closed yet; what is not a tag, such as comments
// and CDATA, is passed over).
func nestingDepth(doc []byte) int {
	depth, deepest := 0, 0
	skipTo := func(i int, end string) int {
		if j := bytes.Index(doc[i:], []byte(end)); j >= 0 {
			return i + j + len(end) - 1
		}
		return len(doc)
	}
	for i := 0; i < len(doc); i++ {
		if doc[i] != '<' {
			continue
		}
		rest := doc[i+1:]
		switch {
		case bytes.HasPrefix(rest, []byte("/")):
			depth--
			i = skipTo(i, ">")
		case bytes.HasPrefix(rest, []byte("![CDATA[")):
			i = skipTo(i, "]]>")
		case bytes.HasPrefix(rest, []byte("!--")):
			i = skipTo(i, "-->")
		case bytes.HasPrefix(rest, []byte("?")):
			i = skipTo(i, "?>")
		case bytes.HasPrefix(rest, []byte("!")):
			i = skipTo(i, ">")
		default:
			depth++
			deepest = max(deepest, depth)
			// The rest of the start tag, quoted attribute values
			// included: "/>" at its end closes it.
			j := i + 1
			for j < len(doc) && doc[j] != '>' {
				if q := doc[j]; q == '"' || q == '\'' {
					if k := bytes.IndexByte(doc[j+1:], q); k >= 0 {
						j += k + 1
					} else {
						j = len(doc)
						break
					}
				}
				j++
			}
			if j < len(doc) && doc[j-1] == '/' {
				depth--
			}
			i = j
		}
	}
	return deepest
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
