package gateway

import (
	"encoding/xml"
	"net/http"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// nullVersion is the version id of an object written while a bucket is
// not versioned.
const nullVersion = "null"

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
	Versions            []versionEntry   `xml:"Version"`
	CommonPrefixes      []versionsPrefix `xml:"CommonPrefixes"`
}

type versionsPrefix struct {
	Prefix xmlText `xml:"Prefix"`
}

type versionEntry struct {
	Key               xmlText `xml:"Key"`
	VersionID         string  `xml:"VersionId"`
	IsLatest          bool    `xml:"IsLatest"`
	LastModified      string  `xml:"LastModified"`
	ETag              string  `xml:"ETag"`
	Size              int64   `xml:"Size"`
	Owner             owner   `xml:"Owner"`
	StorageClass      string  `xml:"StorageClass"`
	ChecksumAlgorithm string  `xml:"ChecksumAlgorithm,omitempty"`
	ChecksumType      string  `xml:"ChecksumType,omitempty"`
}

// listObjectVersions serves ListObjectVersions. Buckets are never
// versioned yet, so each object is its one version, "null", the latest,
// and there are no delete markers.
func (h *Handler) listObjectVersions(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	q := r.URL.Query()
	l, err := parseListing(q)
	if err != nil {
		return err
	}
	keyMarker, versionMarker := q.Get("key-marker"), q.Get("version-id-marker")
	switch {
	case versionMarker != "" && keyMarker == "":
		return s3err.InvalidArgument.WithMessage("A version-id marker cannot be specified without a key marker.")
	case versionMarker != "" && versionMarker != nullVersion:
		return s3err.InvalidArgument.WithMessage("Invalid version id specified")
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
	// Every key has one version: whatever the version marker, the listing
	// resumes after the key marker.
	page, err := h.opts.Store.ListObjects(r.Context(), rc.bucket, store.ListOptions{Prefix: l.prefix,
		Delimiter: l.delimiter, After: keyMarker, Limit: l.maxKeys})
	if err != nil {
		return err
	}
	for _, o := range page.Objects {
		res.Versions = append(res.Versions, versionEntry{Key: newXMLText(l.enc(o.Key)), VersionID: nullVersion, IsLatest: true,
			LastModified: timeISO(o.LastModified), ETag: quoteETag(o.ETag), Size: o.Size, Owner: h.owner,
			StorageClass: storageClass(o.Meta), ChecksumAlgorithm: o.Checksum.Algorithm, ChecksumType: o.Checksum.Type})
	}
	for _, p := range page.CommonPrefixes {
		res.CommonPrefixes = append(res.CommonPrefixes, versionsPrefix{newXMLText(l.enc(p))})
	}
	if page.Truncated {
		res.IsTruncated = true
		next := newXMLText(l.enc(page.Next))
		res.NextKeyMarker = &next
		if n := len(page.Objects); n > 0 && page.Objects[n-1].Key == page.Next {
			res.NextVersionIDMarker = nullVersion
		}
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// xmlText is a text element escaped as the listings escape keys (see
// appendEscaped), for documents encoded by encoding/xml.
type xmlText struct {
	Inner string `xml:",innerxml"`
}

func newXMLText(s string) xmlText { return xmlText{string(appendEscaped(nil, s))} }
