package lifecycle

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Day is S3's lifecycle day. An order may shorten it (lifecycle_day) so
// that rules can be seen working in seconds.
const Day = 24 * time.Hour

// Object is what a rule looks at: the key, size, tags (URL-encoded as
// stored) and the version's time.
type Object struct {
	Key   string
	Size  int64
	Tags  string
	MTime time.Time
}

// enabled reports whether the rule applies at all.
func (r *Rule) enabled() bool { return r.Status == "Enabled" }

// prefix is the rule's key prefix ("" for every key).
func (r *Rule) prefix() string {
	switch {
	case r.Prefix != nil:
		return *r.Prefix
	case r.Filter == nil:
		return ""
	case r.Filter.Prefix != nil:
		return *r.Filter.Prefix
	case r.Filter.And != nil && r.Filter.And.Prefix != nil:
		return *r.Filter.And.Prefix
	}
	return ""
}

// tags are the tags the rule's filter requires.
func (r *Rule) tags() []Tag {
	switch {
	case r.Filter == nil:
		return nil
	case r.Filter.Tag != nil:
		return []Tag{*r.Filter.Tag}
	case r.Filter.And != nil:
		return r.Filter.And.Tags
	}
	return nil
}

// sizes are the filter's size bounds (nil: none).
func (r *Rule) sizes() (gt, lt *int64) {
	if f := r.Filter; f != nil {
		if f.And != nil {
			return f.And.ObjectSizeGreaterThan, f.And.ObjectSizeLessThan
		}
		return f.ObjectSizeGreaterThan, f.ObjectSizeLessThan
	}
	return nil, nil
}

// NeedsTags reports whether deciding the rule needs an object's tags.
func (r *Rule) NeedsTags() bool { return len(r.tags()) > 0 }

// Matches reports whether the rule's filter selects o.
func (r *Rule) Matches(o Object) bool {
	if !strings.HasPrefix(o.Key, r.prefix()) {
		return false
	}
	if gt, lt := r.sizes(); (gt != nil && o.Size <= *gt) || (lt != nil && o.Size >= *lt) {
		return false
	}
	if want := r.tags(); len(want) > 0 {
		have, err := url.ParseQuery(o.Tags)
		if err != nil {
			return false
		}
		for _, t := range want {
			if vs, ok := have[t.Key]; !ok || len(vs) != 1 || vs[0] != t.Value {
				return false
			}
		}
	}
	return true
}

// after returns t plus n days: with S3's day, rounded up to the next
// midnight UTC as S3 does; with a shortened day, exactly.
func after(t time.Time, n int, day time.Duration) time.Time {
	at := t.Add(time.Duration(n) * day)
	if day != Day {
		return at
	}
	mid := at.UTC().Truncate(Day)
	if mid.Before(at) {
		mid = mid.Add(Day)
	}
	return mid
}

// Expiry returns when the current version o expires and by which rule:
// the earliest of the enabled rules with an Expiration (Days or Date)
// that select it. ok is false when none does.
func (c *Configuration) Expiry(o Object, day time.Duration) (at time.Time, ruleID string, ok bool) {
	for i := range c.Rules {
		r := &c.Rules[i]
		e := r.Expiration
		if !r.enabled() || e == nil || (e.Days == nil && e.Date == nil) || !r.Matches(o) {
			continue
		}
		var t time.Time
		if e.Days != nil {
			t = after(o.MTime, *e.Days, day)
		} else {
			t, _ = parseMidnight(*e.Date)
		}
		if !ok || t.Before(at) {
			at, ruleID, ok = t, r.ID, true
		}
	}
	return at, ruleID, ok
}

// HeaderValue is the x-amz-expiration header of an object expiring at at
// by rule id.
func HeaderValue(at time.Time, ruleID string) string {
	return `expiry-date="` + at.UTC().Format(http.TimeFormat) + `", rule-id="` + ruleID + `"`
}
