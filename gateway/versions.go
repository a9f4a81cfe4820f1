package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

type listVersionsResult struct {
	XMLName             xml.Name         `xml:"ListVersionsResult"`
	NS                  string           `xml:"xmlns,attr"`
	Name                string           `xml:"Name"`
	Prefix              xmlText          `xml:"Prefix"`
	KeyMarker           xmlText          `xml:"KeyMarker"`
	VersionIDMarker     string           `xml:"VersionIdMarker"`
	NextKeyMarker       *xmlText         `xml:"NextKeyMarker,omitempty"`
	NextVersionIDMarker string           `xml:"NextVersionIdMarker,omitempty"`
	MaxKeys             int              `xml:"MaxKeys"`
	Delimiter           *xmlText         `xml:"Delimiter,omitempty"`
	EncodingType        string           `xml:"EncodingType,omitempty"`
	IsTruncated         bool             `xml:"IsTruncated"`
	Entries             []versionEntry   // Version and DeleteMarker elements, in listing order
	CommonPrefixes      []versionsPrefix `xml:"CommonPrefixes"`
}

type versionsPrefix struct {
	Prefix xmlText `xml:"Prefix"`
}

// versionEntry is a Version or (XMLName DeleteMarker) a DeleteMarker
// element, which has no ETag, Size or StorageClass.
type versionEntry struct {
	XMLName           xml.Name
	Key               xmlText `xml:"Key"`
	VersionID         string  `xml:"VersionId"`
	IsLatest          bool    `xml:"IsLatest"`
	LastModified      string  `xml:"LastModified"`
	ETag              string  `xml:"ETag,omitempty"`
	Size              *int64  `xml:"Size,omitempty"`
	Owner             owner   `xml:"Owner"`
	StorageClass      string  `xml:"StorageClass,omitempty"`
	ChecksumAlgorithm string  `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string  `xml:"ChecksumType,omitempty"`
}

// listObjectVersions serves ListObjectVersions: every version and delete
// marker, by key and newest first. A store that keeps no versions
// (store.ErrNotSupported) lists its objects, each its null version.
func (h *Handler) listObjectVersions(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	l, err := parseListing(q)
	if err != nil {
		return err
	}
	keyMarker, versionMarker := q.Get("key-marker"), q.Get("version-id-marker")
	if versionMarker != "" && keyMarker == "" {
		return s3err.InvalidArgument.WithMessage("A version-id marker cannot be specified without a key marker.")
	}
	res := listVersionsResult{NS: s3NS, Name: rc.bucket, Prefix: newXMLText(l.enc(l.prefix)), KeyMarker: newXMLText(l.enc(keyMarker)),
		VersionIDMarker: versionMarker, MaxKeys: l.maxKeys, EncodingType: l.encType}
	if l.delimiter != "" {
		d := newXMLText(l.enc(l.delimiter))
		res.Delimiter = &d
	}
	if l.maxKeys == 0 {
		if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
			return err
		}
		writeXML(w, http.StatusOK, res)
		return nil
	}
	page, err := h.opts.Store.ListObjectVersions(r.Context(), rc.bucket, store.VersionsOptions{Prefix: l.prefix,
		Delimiter: l.delimiter, KeyMarker: keyMarker, VersionIDMarker: versionMarker, Limit: l.maxKeys})
	if errors.Is(err, store.ErrNotSupported) {
		page, err = h.nullVersions(r, rc.bucket, l, keyMarker, versionMarker)
	}
	if err != nil {
		return err
	}
	for _, o := range page.Versions {
		res.Entries = append(res.Entries, h.versionEntry(l, &o))
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, versionsPrefix{newXMLText(l.enc(p))})
	}
	if page.Truncated {
		res.IsTruncated = true
		next := newXMLText(l.enc(page.NextKeyMarker))
		res.NextKeyMarker = &next
		res.NextVersionIDMarker = page.NextVersionIDMarker
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// versionEntry is the listing element of o.
func (h *Handler) versionEntry(l listing, o *store.Object) versionEntry {
	e := versionEntry{XMLName: xml.Name{Local: "Version"}, Key: newXMLText(l.enc(o.Key)), VersionID: o.VersionID,
		IsLatest: o.IsLatest, LastModified: timeISO(o.LastModified), Owner: h.owner}
	if o.DeleteMarker {
		e.XMLName.Local = "DeleteMarker"
		return e
	}
	size := o.Size
	e.ETag, e.Size, e.StorageClass = quoteETag(o.ETag), &size, storageClass(o.Meta)
	e.ChecksumAlgorithm, e.ChecksumType = o.Checksum.Algorithm, o.Checksum.Type
	return e
}

// nullVersions lists the objects of a store without versions as their
// null versions: every key has one version, so whatever the version
// marker the listing resumes after the key marker.
func (h *Handler) nullVersions(r *http.Request, bucket string, l listing, keyMarker, versionMarker string) (*store.VersionsPage, error) {
	if versionMarker != "" && versionMarker != store.NullVersion {
		return nil, errInvalidVersionID
	}
	page, err := h.opts.Store.ListObjects(r.Context(), bucket, store.ListOptions{Prefix: l.prefix,
		Delimiter: l.delimiter, After: keyMarker, Limit: l.maxKeys})
	if err != nil {
		return nil, err
	}
	out := &store.VersionsPage{CommonPrefixes: page.CommonPrefixes, Truncated: page.Truncated, NextKeyMarker: page.Next}
	for _, o := range page.Objects {
		o.VersionID, o.IsLatest = store.NullVersion, true
		out.Versions = append(out.Versions, o)
	}
	if n := len(page.Objects); n > 0 && page.Objects[n-1].Key == page.Next {
		out.NextVersionIDMarker = store.NullVersion
	}
	return out, nil
}

// xmlText is a text element escaped as the listings escape keys (see
// appendEscaped), for documents encoded by encoding/xml.
type xmlText struct {
	Inner string `xml:",innerxml"`
}

func newXMLText(s string) xmlText { return xmlText{string(appendEscaped(nil, s))} }
