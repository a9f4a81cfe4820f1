package gateway

import (
	"encoding/xml"
	"errors"
	"net/http"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// Errors of versioning (AWS's codes and messages).
var (
	errNoSuchVersion = &s3err.Error{Code: "NoSuchVersion", Status: http.StatusNotFound,
		Message: "The specified version does not exist."}
	errInvalidVersionID  = s3err.InvalidArgument.WithMessage("Invalid version id specified")
	errIllegalVersioning = &s3err.Error{Code: "IllegalVersioningConfigurationException", Status: http.StatusBadRequest,
		Message: "The Versioning element must be specified: Status is Enabled or Suspended."}
	errNoMFADelete = s3err.NotImplemented.WithMessage("MFA delete is not supported by this gateway.")
	// errCopyDeleteMarker: a copy source named by the version id of a
	// delete marker.
	errCopyDeleteMarker = s3err.InvalidRequest.WithMessage("The source of a copy request may not specifically refer to a delete marker by version id.")
	// errNoVersions: a store that keeps no versions (upstream mode).
	errNoVersions = s3err.NotImplemented.WithMessage("Bucket versioning is not supported by this gateway's storage.")
)

// maxVersioningXML bounds a PutBucketVersioning document.
const maxVersioningXML = 4 << 10

// versioningDoc is the VersioningConfiguration document.
type versioningDoc struct {
	XMLName   xml.Name `xml:"VersioningConfiguration"`
	NS        string   `xml:"xmlns,attr,omitempty"`
	Status    string   `xml:"Status,omitempty"`
	MfaDelete string   `xml:"MfaDelete,omitempty"`
}

func (h *Handler) getBucketVersioning(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	state, err := h.opts.Store.BucketVersioning(r.Context(), rc.bucket)
	if err != nil {
		return err
	}
	writeXML(w, http.StatusOK, versioningDoc{NS: s3NS, Status: state})
	return nil
}

// putBucketVersioning sets Enabled or Suspended. A bucket never returns
// to unversioned (S3 has no such status), and MFA delete is refused.
func (h *Handler) putBucketVersioning(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	if _, err := h.opts.Store.HeadBucket(r.Context(), rc.bucket); err != nil {
		return err
	}
	body, err := h.readXMLBody(r, rc, maxVersioningXML, true)
	if err != nil {
		return err
	}
	var doc versioningDoc
	if err := xml.Unmarshal(body, &doc); err != nil {
		return s3err.MalformedXML
	}
	switch doc.MfaDelete {
	case "", "Disabled":
	case "Enabled":
		return errNoMFADelete
	default:
		return s3err.MalformedXML.WithMessage("MfaDelete must be Enabled or Disabled.")
	}
	if r.Header.Get("x-amz-mfa") != "" {
		return errNoMFADelete
	}
	if doc.Status != store.Enabled && doc.Status != store.Suspended {
		return errIllegalVersioning
	}
	if err := h.checkVersioningLock(r.Context(), rc.bucket, doc.Status); err != nil {
		return err
	}
	if err := h.opts.Store.SetBucketVersioning(r.Context(), rc.bucket, doc.Status); err != nil {
		if errors.Is(err, store.ErrNotSupported) {
			return errNoVersions
		}
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// versionParam returns the versionId query parameter: "" for none. An
// empty value is refused as AWS does.
func versionParam(r *http.Request) (string, error) {
	q := r.URL.Query()
	if _, ok := q["versionId"]; !ok {
		return "", nil
	}
	v := q.Get("versionId")
	if v == "" {
		return "", s3err.InvalidArgument.WithMessage("Version id cannot be the empty string")
	}
	return v, nil
}

// setVersionHeader sets x-amz-version-id for a version of a bucket whose
// versioning was ever set (the store gives no id otherwise).
func setVersionHeader(hdr http.Header, versionID string) {
	if versionID != "" {
		hdr.Set("x-amz-version-id", versionID)
	}
}

// setDeleteMarkerHeaders describes the delete marker a read met, as AWS
// does on its 404 or 405.
func setDeleteMarkerHeaders(hdr http.Header, err error) {
	var dm *store.DeleteMarkerError
	if errors.As(err, &dm) {
		hdr.Set("x-amz-delete-marker", "true")
		setVersionHeader(hdr, dm.VersionID)
		hdr.Set("Last-Modified", timeHTTP(dm.LastModified))
		if dm.ByID {
			hdr.Set("Allow", "DELETE")
		}
	}
}

// copySourceVersion checks a copy source's version id against the store:
// one that keeps no versions has only the null version (its CopyObject
// does not look at the id).
func (h *Handler) copySourceVersion(versionID string) error {
	if versionID != "" && versionID != store.NullVersion && !store.SupportsVersions(h.opts.Store) {
		return errNoSuchVersion
	}
	return nil
}

// copySourceError maps the error of reading a copy source: a delete marker
// named by id is an invalid request, not a 405.
func copySourceError(err error) error {
	if errors.Is(err, store.ErrMethodNotAllowed) {
		return errCopyDeleteMarker
	}
	return err
}

// reserveDeleteMarker reserves what the delete marker a DeleteObject
// without a version id adds in a versioned bucket costs: markers take
// room in the index like any entry, so they count against the capacity.
func (h *Handler) reserveDeleteMarker(r *http.Request, rc *reqContext, key string) (func(), error) {
	if !store.SupportsVersions(h.opts.Store) {
		return func() {}, nil // never a delete marker
	}
	state, err := h.opts.Store.BucketVersioning(r.Context(), rc.bucket)
	if err != nil || state == store.Unversioned {
		return func() {}, err
	}
	return h.reserve(r.Context(), rc, store.DeleteMarkerCost(key), nil)
}

// deleteOne deletes key (DeleteObjects' entries), or its version
// versionID, and describes what was deleted as DeleteObjects does. With
// ifMatch (the entry's <ETag>) the delete is conditional (deleteIfMatch).
func (h *Handler) deleteOne(r *http.Request, rc *reqContext, key, versionID string, ifMatch *string) (deletedEntry, error) {
	if !store.ValidKey(key) {
		return deletedEntry{}, invalidKey
	}
	if versionID == "" {
		release, err := h.reserveDeleteMarker(r, rc, key)
		if err != nil {
			return deletedEntry{}, err
		}
		defer release()
	}
	var res store.DeleteResult
	var err error
	if ifMatch != nil {
		res, err = h.deleteIfMatch(r, rc, key, versionID, *ifMatch)
	} else {
		res, err = h.opts.Store.DeleteObjectVersion(r.Context(), rc.bucket, key, versionID)
	}
	if err != nil {
		return deletedEntry{}, err
	}
	d := deletedEntry{Key: key, VersionID: versionID, DeleteMarker: res.DeleteMarker}
	if res.DeleteMarker {
		d.DeleteMarkerVersionID = res.VersionID
	}
	return d, nil
}
