package upstream

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// upVersion is one entry of an upstream ListObjectVersions answer: an
// object version or a delete marker, with its upstream name decoded.
type upVersion struct {
	Name         string
	VersionID    string
	Marker       bool // a delete marker
	Latest       bool
	Size         int64
	ETag         string
	LastModified time.Time
	tagged       bool // (findVersion only) it has a sidecar of attributes
}

// upVersions is one upstream ListObjectVersions page.
type upVersions struct {
	Versions      []upVersion
	Truncated     bool
	NextKey       string
	NextVersionID string
}

// xmlVersions decodes a ListVersionsResult, keeping versions and delete
// markers in the order of the document.
type xmlVersions struct {
	EncodingType        string       `xml:"EncodingType"`
	IsTruncated         bool         `xml:"IsTruncated"`
	NextKeyMarker       string       `xml:"NextKeyMarker"`
	NextVersionIDMarker string       `xml:"NextVersionIdMarker"`
	Entries             []xmlVersion `xml:",any"`
}

type xmlVersion struct {
	XMLName      xml.Name
	Key          string    `xml:"Key"`
	VersionID    string    `xml:"VersionId"`
	IsLatest     bool      `xml:"IsLatest"`
	Size         int64     `xml:"Size"`
	ETag         string    `xml:"ETag"`
	LastModified time.Time `xml:"LastModified"`
}

// listVersions asks the upstream for one ListObjectVersions page of at
// most maxKeys entries under prefix, after (keyMarker, versionIDMarker).
// The request is presigned by minio-go and sent through its transport.
func (s *Store) listVersions(ctx context.Context, prefix, keyMarker, versionIDMarker string, maxKeys int) (*upVersions, error) {
	q := url.Values{
		"versions":      {""},
		"encoding-type": {"url"},
		"prefix":        {prefix},
		"max-keys":      {strconv.Itoa(maxKeys)},
	}
	if keyMarker != "" {
		q.Set("key-marker", keyMarker)
		if versionIDMarker != "" {
			q.Set("version-id-marker", versionIDMarker)
		}
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
		return nil, s.mapErr(err)
	}
	if resp.StatusCode != http.StatusOK {
		defer resp.Body.Close()
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		if resp.StatusCode >= 500 {
			return nil, fmt.Errorf("%w: listing versions: HTTP %d", ErrUnavailable, resp.StatusCode)
		}
		return nil, &upErr{op: "listing versions", code: resp.Status}
	}
	body, err := readListBody(resp)
	if err != nil {
		return nil, s.mapErr(err)
	}
	var doc xmlVersions
	if err := xml.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("upstream: listing versions: %v", err)
	}
	out := &upVersions{Truncated: doc.IsTruncated, NextVersionID: doc.NextVersionIDMarker}
	if out.NextKey, err = listName(doc.NextKeyMarker, doc.EncodingType); err != nil {
		return nil, err
	}
	for _, e := range doc.Entries {
		var marker bool
		switch e.XMLName.Local {
		case "Version":
		case "DeleteMarker":
			marker = true
		default:
			continue
		}
		name, err := listName(e.Key, doc.EncodingType)
		if err != nil {
			return nil, err
		}
		out.Versions = append(out.Versions, upVersion{Name: name, VersionID: e.VersionID, Marker: marker,
			Latest: e.IsLatest, Size: e.Size, ETag: trimETag(e.ETag), LastModified: e.LastModified})
	}
	if len(out.Versions) > maxKeys {
		return nil, fmt.Errorf("upstream: listing answer has %d versions, %d asked for", len(out.Versions), maxKeys)
	}
	return out, nil
}

func listName(s, encoding string) (string, error) {
	if encoding == "" {
		return s, nil
	}
	return unescapeName(s)
}

// nameVersions lists up to limit versions of the upstream name itself
// (newest first), after versionIDMarker if set; more is set when the
// name has more.
func (s *Store) nameVersions(ctx context.Context, name, versionIDMarker string, limit int) (vs []upVersion, more bool, err error) {
	km := ""
	if versionIDMarker != "" {
		km = name
	}
	for {
		page, err := s.listVersions(ctx, name, km, versionIDMarker, min(limit-len(vs)+1, 1000))
		if err != nil {
			return nil, false, err
		}
		for _, v := range page.Versions {
			if v.Name != name {
				return vs, false, nil
			}
			if len(vs) == limit {
				return vs, true, nil
			}
			vs = append(vs, v)
		}
		if !page.Truncated || page.NextKey != name {
			return vs, false, nil
		}
		km, versionIDMarker = page.NextKey, page.NextVersionID
	}
}
