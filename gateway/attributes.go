package gateway

import (
	"encoding/xml"
	"net/http"
	"strings"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// The attributes x-amz-object-attributes may name, as bits.
const (
	attrETag = 1 << iota
	attrChecksum
	attrObjectParts
	attrStorageClass
	attrObjectSize
)

var objectAttributeNames = map[string]int{
	"ETag": attrETag, "Checksum": attrChecksum, "ObjectParts": attrObjectParts,
	"StorageClass": attrStorageClass, "ObjectSize": attrObjectSize,
}

var (
	errNoObjectAttributes = s3err.InvalidRequest.WithMessage("The x-amz-object-attributes header specifying the attributes to be retrieved is either missing or empty")
	errObjectAttribute    = s3err.InvalidArgument.WithMessage("Invalid attribute name specified.")
)

// parseObjectAttributes reads x-amz-object-attributes: a comma-separated
// list (in one or several headers) of attribute names, case-sensitive.
func parseObjectAttributes(values []string) (int, error) {
	want := 0
	for _, v := range values {
		for name := range strings.SplitSeq(v, ",") {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			bit, ok := objectAttributeNames[name]
			if !ok {
				return 0, errObjectAttribute
			}
			want |= bit
		}
	}
	if want == 0 {
		return 0, errNoObjectAttributes
	}
	return want, nil
}

// getObjectAttributesResponse is GetObjectAttributes' answer: only the
// attributes asked for are set. Its ETag is unquoted, as S3 sends it here.
type getObjectAttributesResponse struct {
	XMLName      xml.Name            `xml:"GetObjectAttributesResponse"`
	NS           string              `xml:"xmlns,attr"`
	ETag         string              `xml:"ETag,omitempty"`
	Checksum     *attributesChecksum `xml:"Checksum,omitempty"`
	ObjectParts  *attributesParts    `xml:"ObjectParts,omitempty"`
	StorageClass string              `xml:"StorageClass,omitempty"`
	ObjectSize   *int64              `xml:"ObjectSize,omitempty"`
}

type attributesChecksum struct {
	checksumFields
	ChecksumType string `xml:"ChecksumType,omitempty"`
}

// attributesParts is ObjectParts. Without an object checksum S3 sends only
// PartsCount (the parts have no checksums to list).
type attributesParts struct {
	IsTruncated          *bool            `xml:"IsTruncated,omitempty"`
	MaxParts             *int             `xml:"MaxParts,omitempty"`
	NextPartNumberMarker *int             `xml:"NextPartNumberMarker,omitempty"`
	PartNumberMarker     *int             `xml:"PartNumberMarker,omitempty"`
	Parts                []attributesPart `xml:"Part"`
	PartsCount           int              `xml:"PartsCount"`
}

type attributesPart struct {
	checksumFields
	PartNumber int   `xml:"PartNumber"`
	Size       int64 `xml:"Size"`
}

// getObjectAttributes serves GetObjectAttributes: what HeadObject and
// ListParts tell, in one answer, without the data, of the current version
// or the one versionId names. The conditional headers apply as on
// GetObject; delete markers answer as on HeadObject.
func (h *Handler) getObjectAttributes(w http.ResponseWriter, r *http.Request, rc *reqContext) error {
	want, err := parseObjectAttributes(r.Header.Values("X-Amz-Object-Attributes"))
	if err != nil {
		return err
	}
	maxParts, err := intParam(r.Header.Get("X-Amz-Max-Parts"), 1000, 1000, "max-parts")
	if err != nil {
		return err
	}
	marker, err := intParam(r.Header.Get("X-Amz-Part-Number-Marker"), 0, store.MaxPartNumber, "part-number-marker")
	if err != nil {
		return err
	}
	versionID, err := versionParam(r)
	if err != nil {
		return err
	}
	obj, err := h.opts.Store.HeadObjectVersion(r.Context(), rc.bucket, rc.key, versionID)
	if err != nil {
		setDeleteMarkerHeaders(w.Header(), err)
		return err
	}
	w.Header().Set("Last-Modified", timeHTTP(obj.LastModified))
	setVersionHeader(w.Header(), obj.VersionID)
	if err := parseConditionals(r.Header, "").check(obj, s3err.NotModified); err != nil {
		w.Header().Set("ETag", quoteETag(obj.ETag))
		return err
	}
	res := getObjectAttributesResponse{NS: s3NS}
	if want&attrETag != 0 {
		res.ETag = obj.ETag
	}
	if want&attrChecksum != 0 && checksumType(obj.Checksum) != "" {
		res.Checksum = &attributesChecksum{checksumFields: checksumXML(obj.Checksum.Algorithm, obj.Checksum.Value),
			ChecksumType: obj.Checksum.Type}
	}
	if want&attrObjectParts != 0 && len(obj.Parts) > 0 {
		res.ObjectParts = objectParts(obj, marker, maxParts)
	}
	if want&attrStorageClass != 0 {
		res.StorageClass = storageClass(obj.Meta)
	}
	if want&attrObjectSize != 0 {
		res.ObjectSize = &obj.Size
	}
	writeXML(w, http.StatusOK, res)
	return nil
}

// objectParts is the page of obj's parts after marker, at most maxParts.
func objectParts(obj *store.Object, marker, maxParts int) *attributesParts {
	p := &attributesParts{PartsCount: len(obj.Parts)}
	if obj.Checksum.Algorithm == "" {
		return p
	}
	truncated := false
	next := 0
	for _, part := range obj.Parts {
		if part.Number <= marker || maxParts == 0 {
			// max-parts=0 asks for no parts: an empty, complete page
			// (a truncated one would loop a paginator on one marker).
			continue
		}
		if len(p.Parts) == maxParts {
			truncated = true
			break
		}
		p.Parts = append(p.Parts, attributesPart{checksumFields: checksumXML(obj.Checksum.Algorithm, part.Checksum),
			PartNumber: part.Number, Size: part.Size})
		next = part.Number
	}
	p.IsTruncated, p.MaxParts, p.PartNumberMarker = &truncated, &maxParts, &marker
	if len(p.Parts) > 0 {
		p.NextPartNumberMarker = &next
	}
	return p
}
