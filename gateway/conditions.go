package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// conditionals are the If-* headers of a read (or the x-amz-copy-source-if-*
// headers of a copy).
type conditionals struct {
	ifMatch, ifNoneMatch               string
	ifModifiedSince, ifUnmodifiedSince time.Time
}

func parseConditionals(hdr http.Header, prefix string) conditionals {
	c := conditionals{ifMatch: hdr.Get(prefix + "If-Match"), ifNoneMatch: hdr.Get(prefix + "If-None-Match")}
	// Unparseable dates are ignored, as HTTP requires.
	if t, err := http.ParseTime(hdr.Get(prefix + "If-Modified-Since")); err == nil {
		c.ifModifiedSince = t
	}
	if t, err := http.ParseTime(hdr.Get(prefix + "If-Unmodified-Since")); err == nil {
		c.ifUnmodifiedSince = t
	}
	return c
}

// etagMatches reports whether an If-Match / If-None-Match list names etag.
func etagMatches(list, etag string) bool { return store.ETagListMatches(list, etag) }

// check evaluates the conditions against o in the order RFC 9110 and S3
// use. notModified is the error for a failed If-None-Match /
// If-Modified-Since (304 on reads, 412 on copies).
func (c conditionals) check(o *store.Object, notModified error) error {
	lm := o.LastModified.Truncate(time.Second)
	if c.ifMatch != "" {
		if !etagMatches(c.ifMatch, o.ETag) {
			return s3err.PreconditionFailed
		}
	} else if !c.ifUnmodifiedSince.IsZero() && lm.After(c.ifUnmodifiedSince) {
		return s3err.PreconditionFailed
	}
	if c.ifNoneMatch != "" {
		if etagMatches(c.ifNoneMatch, o.ETag) {
			return notModified
		}
	} else if !c.ifModifiedSince.IsZero() && !lm.After(c.ifModifiedSince) {
		return notModified
	}
	return nil
}

// writeConditions are the conditional-write headers of PutObject and
// CompleteMultipartUpload: each "*" or a list of ETags, evaluated by the
// store at commit as MinIO and Ceph do (If-None-Match: 412 when the current
// ETag is listed, or for "*" when any object exists; If-Match: 412 unless
// the current ETag is listed, or for "*" unless an object exists).
func writeConditions(hdr http.Header) (store.Conditions, error) {
	return store.Conditions{IfMatch: strings.TrimSpace(hdr.Get("If-Match")),
		IfNoneMatch: strings.TrimSpace(hdr.Get("If-None-Match"))}, nil
}

// byteRange is a parsed Range header: start..end inclusive, or the last
// suffix bytes when suffix > 0.
type byteRange struct {
	start, end int64 // end -1: to the end
	suffix     int64
}

// parseRange parses a single "bytes=" range. ok is false for a header that
// is absent or not a valid single range, which S3 (like HTTP) ignores.
func parseRange(v string) (br byteRange, ok bool) {
	spec, found := strings.CutPrefix(strings.TrimSpace(v), "bytes=")
	if !found || strings.Contains(spec, ",") {
		return br, false
	}
	// No space is allowed in a range: "bytes= -1" is malformed (and
	// ignored), not a suffix range.
	first, last, found := strings.Cut(spec, "-")
	if !found {
		return br, false
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n < 0 {
			return br, false
		}
		if n == 0 {
			return byteRange{start: -1}, true // unsatisfiable
		}
		return byteRange{suffix: n}, true
	}
	s, err := strconv.ParseInt(first, 10, 64)
	if err != nil || s < 0 {
		return br, false
	}
	br = byteRange{start: s, end: -1}
	if last != "" {
		e, err := strconv.ParseInt(last, 10, 64)
		if err != nil || e < s {
			return byteRange{}, false
		}
		br.end = e
	}
	return br, true
}

// resolve turns the range into an offset and length within size, or
// InvalidRange when it cannot be satisfied.
func (br byteRange) resolve(size int64) (off, length int64, err error) {
	if br.suffix > 0 {
		n := min(br.suffix, size)
		if n == 0 {
			return 0, 0, s3err.InvalidRange
		}
		return size - n, n, nil
	}
	if br.start < 0 || br.start >= size {
		return 0, 0, s3err.InvalidRange
	}
	end := br.end
	if end < 0 || end >= size {
		end = size - 1
	}
	return br.start, end - br.start + 1, nil
}
