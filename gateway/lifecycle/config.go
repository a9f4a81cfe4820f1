// Package lifecycle is S3's bucket lifecycle configuration: the document
// (parsed and validated as AWS does), which rule applies to an object, and
// the Worker that applies the rules to a store in the background.
package lifecycle

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/xml"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lambda/storagecli/gateway/s3err"
)

// Limits of S3 on a lifecycle configuration.
const (
	MaxRules           = 1000
	maxIDLen           = 255
	maxNewerNoncurrent = 100
)

// Configuration is a LifecycleConfiguration document.
type Configuration struct {
	XMLName xml.Name `xml:"LifecycleConfiguration"`
	NS      string   `xml:"xmlns,attr,omitempty"`
	Rules   []Rule   `xml:"Rule"`
}

// Rule is one lifecycle rule.
type Rule struct {
	ID     string  `xml:"ID,omitempty"`
	Prefix *string `xml:"Prefix"` // the rule's filter before Filter existed
	Filter *Filter `xml:"Filter"`
	Status string  `xml:"Status"`

	Expiration                     *Expiration           `xml:"Expiration"`
	NoncurrentVersionExpiration    *NoncurrentExpiration `xml:"NoncurrentVersionExpiration"`
	AbortIncompleteMultipartUpload *AbortIncomplete      `xml:"AbortIncompleteMultipartUpload"`

	Transitions           []anyElement `xml:"Transition"`
	NoncurrentTransitions []anyElement `xml:"NoncurrentVersionTransition"`
	Unknown               []anyElement `xml:",any"`
}

// Filter selects the objects a rule applies to: one predicate, or And.
type Filter struct {
	Prefix                *string      `xml:"Prefix"`
	Tag                   *Tag         `xml:"Tag"`
	ObjectSizeGreaterThan *int64       `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64       `xml:"ObjectSizeLessThan"`
	And                   *And         `xml:"And"`
	Unknown               []anyElement `xml:",any"`
}

// And combines predicates: every one must hold.
type And struct {
	Prefix                *string      `xml:"Prefix"`
	Tags                  []Tag        `xml:"Tag"`
	ObjectSizeGreaterThan *int64       `xml:"ObjectSizeGreaterThan"`
	ObjectSizeLessThan    *int64       `xml:"ObjectSizeLessThan"`
	Unknown               []anyElement `xml:",any"`
}

// Tag is a tag an object must have.
type Tag struct {
	Key   string `xml:"Key"`
	Value string `xml:"Value"`
}

// Expiration expires current versions (Days after creation, or on Date),
// or removes delete markers left alone (ExpiredObjectDeleteMarker).
type Expiration struct {
	Days                      *int         `xml:"Days"`
	Date                      *string      `xml:"Date"`
	ExpiredObjectDeleteMarker *bool        `xml:"ExpiredObjectDeleteMarker"`
	Unknown                   []anyElement `xml:",any"`
}

// NoncurrentExpiration deletes noncurrent versions NoncurrentDays after
// they became noncurrent, keeping the NewerNoncurrentVersions newest.
type NoncurrentExpiration struct {
	NoncurrentDays          *int         `xml:"NoncurrentDays"`
	NewerNoncurrentVersions *int         `xml:"NewerNoncurrentVersions"`
	Unknown                 []anyElement `xml:",any"`
}

// AbortIncomplete aborts multipart uploads DaysAfterInitiation after they
// started.
type AbortIncomplete struct {
	DaysAfterInitiation *int         `xml:"DaysAfterInitiation"`
	Unknown             []anyElement `xml:",any"`
}

// anyElement captures an element the gateway does not know, to refuse it.
type anyElement struct {
	XMLName xml.Name
}

var (
	errMalformed    = s3err.MalformedXML
	errTransitions  = s3err.NotImplemented.WithMessage("Lifecycle transitions to other storage classes are not supported by this gateway: it has one storage class (STANDARD).")
	errInvalidArg   = s3err.InvalidArgument
	errInvalidReq   = s3err.InvalidRequest
	midnightFormats = []string{time.RFC3339, "2006-01-02T15:04:05.000Z", "2006-01-02T15:04:05.999999999Z07:00", "2006-01-02"}
)

// Parse reads and validates a LifecycleConfiguration document. Rules
// without an ID get a random one, as S3 gives them.
func Parse(doc []byte) (*Configuration, error) {
	var c Configuration
	if err := xml.Unmarshal(doc, &c); err != nil {
		return nil, errMalformed
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// Marshal returns the document (for GetBucketLifecycleConfiguration and
// for storing it).
func (c *Configuration) Marshal() []byte {
	out := *c
	out.NS = "http://s3.amazonaws.com/doc/2006-03-01/"
	b, _ := xml.Marshal(out)
	return append([]byte(xml.Header), b...)
}

func (c *Configuration) validate() error {
	switch {
	case len(c.Rules) == 0:
		return errMalformed.WithMessage("The lifecycle configuration must have at least one rule.")
	case len(c.Rules) > MaxRules:
		return errInvalidArg.WithMessage("The number of lifecycle rules must not exceed %d.", MaxRules)
	}
	ids := make(map[string]bool, len(c.Rules))
	for i := range c.Rules {
		r := &c.Rules[i]
		if r.ID == "" {
			r.ID = randomID()
		}
		if err := r.validate(); err != nil {
			return err
		}
		if ids[r.ID] {
			return errInvalidArg.WithMessage("Rule ID must be unique. Found same ID for more than one rule")
		}
		ids[r.ID] = true
	}
	return nil
}

func randomID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func (r *Rule) validate() error {
	if len(r.Unknown) > 0 {
		return errMalformed.WithMessage("The lifecycle rule element %s is not supported.", r.Unknown[0].XMLName.Local)
	}
	if len(r.Transitions) > 0 || len(r.NoncurrentTransitions) > 0 {
		return errTransitions
	}
	if utf8.RuneCountInString(r.ID) > maxIDLen {
		return errInvalidArg.WithMessage("ID length should not exceed allowed limit of %d", maxIDLen)
	}
	if r.Status != "Enabled" && r.Status != "Disabled" {
		return errMalformed.WithMessage("The Status of a lifecycle rule must be Enabled or Disabled.")
	}
	switch {
	case r.Prefix != nil && r.Filter != nil:
		return errMalformed.WithMessage("A lifecycle rule has either a Filter or a Prefix, not both.")
	case r.Prefix == nil && r.Filter == nil:
		return errMalformed.WithMessage("A lifecycle rule needs a Filter (an empty one applies to every object).")
	}
	if r.Filter != nil {
		if err := r.Filter.validate(); err != nil {
			return err
		}
	}
	if r.Expiration == nil && r.NoncurrentVersionExpiration == nil && r.AbortIncompleteMultipartUpload == nil {
		return errInvalidReq.WithMessage("At least one action needs to be specified in a rule")
	}
	tagged := len(r.tags()) > 0
	if e := r.Expiration; e != nil {
		if err := e.validate(tagged); err != nil {
			return err
		}
	}
	if n := r.NoncurrentVersionExpiration; n != nil {
		if len(n.Unknown) > 0 {
			return errMalformed.WithMessage("The NoncurrentVersionExpiration element %s is not supported.", n.Unknown[0].XMLName.Local)
		}
		if n.NoncurrentDays == nil || *n.NoncurrentDays <= 0 {
			return errInvalidArg.WithMessage("'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer")
		}
		if v := n.NewerNoncurrentVersions; v != nil && (*v < 1 || *v > maxNewerNoncurrent) {
			return errInvalidArg.WithMessage("'NewerNoncurrentVersions' for NoncurrentVersionExpiration action must be a positive integer up to %d", maxNewerNoncurrent)
		}
	}
	if a := r.AbortIncompleteMultipartUpload; a != nil {
		if len(a.Unknown) > 0 {
			return errMalformed.WithMessage("The AbortIncompleteMultipartUpload element %s is not supported.", a.Unknown[0].XMLName.Local)
		}
		if a.DaysAfterInitiation == nil || *a.DaysAfterInitiation <= 0 {
			return errInvalidArg.WithMessage("'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a positive integer")
		}
		if tagged {
			return errInvalidReq.WithMessage("AbortIncompleteMultipartUpload cannot be specified with Tags.")
		}
	}
	return nil
}

func (e *Expiration) validate(tagged bool) error {
	if len(e.Unknown) > 0 {
		return errMalformed.WithMessage("The Expiration element %s is not supported.", e.Unknown[0].XMLName.Local)
	}
	n := 0
	for _, set := range []bool{e.Days != nil, e.Date != nil, e.ExpiredObjectDeleteMarker != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return errMalformed.WithMessage("An Expiration has exactly one of Days, Date and ExpiredObjectDeleteMarker.")
	}
	switch {
	case e.Days != nil && *e.Days <= 0:
		return errInvalidArg.WithMessage("'Days' for Expiration action must be a positive integer")
	case e.Date != nil:
		if _, err := parseMidnight(*e.Date); err != nil {
			return err
		}
	case e.ExpiredObjectDeleteMarker != nil && tagged:
		return errInvalidReq.WithMessage("ExpiredObjectDeleteMarker cannot be specified with a tag-based filter.")
	}
	return nil
}

// parseMidnight parses an Expiration Date, which must be midnight UTC.
func parseMidnight(s string) (time.Time, error) {
	for _, f := range midnightFormats {
		if t, err := time.Parse(f, strings.TrimSpace(s)); err == nil {
			t = t.UTC()
			if t.Hour() != 0 || t.Minute() != 0 || t.Second() != 0 || t.Nanosecond() != 0 {
				return time.Time{}, errInvalidArg.WithMessage("'Date' must be at midnight GMT")
			}
			return t, nil
		}
	}
	return time.Time{}, errInvalidArg.WithMessage("'Date' must be in ISO 8601 format")
}

func (f *Filter) validate() error {
	if len(f.Unknown) > 0 {
		return errMalformed.WithMessage("The Filter element %s is not supported.", f.Unknown[0].XMLName.Local)
	}
	n := 0
	for _, set := range []bool{f.Prefix != nil, f.Tag != nil, f.ObjectSizeGreaterThan != nil, f.ObjectSizeLessThan != nil, f.And != nil} {
		if set {
			n++
		}
	}
	if n > 1 {
		return errMalformed.WithMessage("A Filter has at most one predicate; combine several with And.")
	}
	if f.Tag != nil {
		if err := validateTags([]Tag{*f.Tag}); err != nil {
			return err
		}
	}
	if err := validateSizes(f.ObjectSizeGreaterThan, f.ObjectSizeLessThan); err != nil {
		return err
	}
	if a := f.And; a != nil {
		if len(a.Unknown) > 0 {
			return errMalformed.WithMessage("The And element %s is not supported.", a.Unknown[0].XMLName.Local)
		}
		if err := validateTags(a.Tags); err != nil {
			return err
		}
		if err := validateSizes(a.ObjectSizeGreaterThan, a.ObjectSizeLessThan); err != nil {
			return err
		}
	}
	return nil
}

func validateTags(tags []Tag) error {
	seen := map[string]bool{}
	for _, t := range tags {
		switch {
		case t.Key == "" || utf8.RuneCountInString(t.Key) > 128:
			return s3err.InvalidTag.WithMessage("The TagKey you have provided is invalid")
		case utf8.RuneCountInString(t.Value) > 256:
			return s3err.InvalidTag.WithMessage("The TagValue you have provided is invalid")
		case seen[t.Key]:
			return errInvalidReq.WithMessage("Duplicate Tag Keys are not allowed.")
		}
		seen[t.Key] = true
	}
	return nil
}

func validateSizes(gt, lt *int64) error {
	switch {
	case gt != nil && *gt < 0, lt != nil && *lt <= 0:
		return errInvalidArg.WithMessage("ObjectSizeGreaterThan must be non-negative and ObjectSizeLessThan positive.")
	case gt != nil && lt != nil && *gt >= *lt:
		return errInvalidArg.WithMessage("ObjectSizeGreaterThan must be less than ObjectSizeLessThan.")
	}
	return nil
}
