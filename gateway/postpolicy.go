package gateway

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

// The errors of POST policies, as AWS answers them.
var (
	errInvalidPolicyDocument = &s3err.Error{Code: "InvalidPolicyDocument", Status: http.StatusBadRequest,
		Message: "The content of the form does not meet the conditions specified in the policy document."}
)

// policyDenied is AWS's AccessDenied for a form the policy does not allow.
func policyDenied(format string, args ...any) error {
	return s3err.AccessDenied.WithMessage("Invalid according to Policy: "+format, args...)
}

// postCondition is one condition of a POST policy: op is "eq" or
// "starts-with" on field (lower case, without the "$"); the exact-match
// object form {"field": "value"} is an "eq".
type postCondition struct {
	op, field, value string
}

// String is the condition as AWS quotes it in its error messages.
func (c postCondition) String() string {
	return fmt.Sprintf("[%q, %q, %q]", c.op, "$"+c.field, c.value)
}

// postPolicy is a decoded POST policy document.
type postPolicy struct {
	expiration time.Time
	conds      []postCondition
	// minLen and maxLen bound the file's size (content-length-range);
	// hasLen is false when the policy sets no range.
	minLen, maxLen int64
	hasLen         bool
}

// exactOnlyFields are the fields AWS matches only exactly: a starts-with
// condition on them is refused.
var exactOnlyFields = map[string]bool{
	"bucket": true, "success_action_status": true, "x-amz-algorithm": true,
	"x-amz-credential": true, "x-amz-date": true, "x-amz-security-token": true,
}

// policyError is the InvalidPolicyDocument error with AWS's "Invalid
// Policy: " prefix.
func policyError(format string, args ...any) error {
	return errInvalidPolicyDocument.WithMessage("Invalid Policy: "+format, args...)
}

// parsePostPolicy decodes the base64 policy field: a JSON document with an
// expiration (ISO 8601) and an array of conditions.
func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, policyError("Invalid Base64 Encoding.")
	}
	var doc struct {
		Expiration *string           `json:"expiration"`
		Conditions []json.RawMessage `json:"conditions"`
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil || dec.More() {
		return nil, policyError("Invalid JSON.")
	}
	if doc.Expiration == nil {
		return nil, policyError("Policy missing expiration.")
	}
	exp, err := time.Parse(time.RFC3339Nano, *doc.Expiration)
	if err != nil {
		return nil, policyError("Invalid 'expiration' value: '%s'", clipped(*doc.Expiration))
	}
	if doc.Conditions == nil {
		return nil, policyError("Policy missing conditions.")
	}
	p := &postPolicy{expiration: exp}
	for _, c := range doc.Conditions {
		if err := p.addCondition(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addCondition parses one element of the conditions array.
func (p *postPolicy) addCondition(raw json.RawMessage) error {
	switch bytes.TrimSpace(raw)[0] {
	case '{':
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil || len(m) == 0 {
			return policyError("Invalid Simple-Condition: %s", clipped(string(raw)))
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return policyError("Invalid Simple-Condition: value must be a string.")
			}
			p.conds = append(p.conds, postCondition{"eq", strings.ToLower(strings.TrimPrefix(k, "$")), s})
		}
		return nil
	case '[':
		return p.addArrayCondition(raw)
	}
	return policyError("Invalid Condition: %s", clipped(string(raw)))
}

// addArrayCondition parses ["eq"|"starts-with", "$field", "value"] and
// ["content-length-range", min, max].
func (p *postPolicy) addArrayCondition(raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var a []any
	if err := dec.Decode(&a); err != nil || len(a) != 3 {
		return policyError("Invalid Condition: %s", clipped(string(raw)))
	}
	op, _ := a[0].(string)
	switch op = strings.ToLower(op); op {
	case "content-length-range":
		lo, ok1 := policyInt(a[1])
		hi, ok2 := policyInt(a[2])
		if !ok1 || !ok2 || lo > hi {
			return policyError("Invalid content-length-range: %s", clipped(string(raw)))
		}
		if p.hasLen {
			// Several ranges: the upload must satisfy each.
			lo, hi = max(lo, p.minLen), min(hi, p.maxLen)
		}
		p.minLen, p.maxLen, p.hasLen = lo, hi, true
		return nil
	case "eq", "starts-with":
		field, ok1 := a[1].(string)
		value, ok2 := a[2].(string)
		if !ok1 || !ok2 || !strings.HasPrefix(field, "$") || len(field) == 1 {
			return policyError("Invalid Condition: %s", clipped(string(raw)))
		}
		field = strings.ToLower(field[1:])
		if op == "starts-with" && exactOnlyFields[field] {
			return policyError("Invalid Condition: the %s field supports only exact matches.", field)
		}
		p.conds = append(p.conds, postCondition{op, field, value})
		return nil
	}
	return policyError("Invalid Condition: unknown operation %s", clipped(fmt.Sprint(a[0])))
}

// policyInt reads a content-length-range bound: a JSON integer or a string
// holding one, not negative.
func policyInt(v any) (int64, bool) {
	var s string
	switch t := v.(type) {
	case json.Number:
		s = t.String()
	case string:
		s = t
	default:
		return 0, false
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// check enforces the policy on a form: it has not expired, every condition
// holds on the form's values (fields: lower-case names; the bucket and the
// key with ${filename} substituted included), and every field is covered
// by a condition except those AWS exempts. The file's size is checked as it
// streams (see lengthRange).
func (p *postPolicy) check(now time.Time, fields map[string]string) error {
	if !now.Before(p.expiration) {
		return policyDenied("Policy expired.")
	}
	covered := make(map[string]bool, len(p.conds))
	for _, c := range p.conds {
		v := fields[c.field]
		ok := v == c.value
		if c.op == "starts-with" {
			ok = strings.HasPrefix(v, c.value)
		}
		if !ok {
			return policyDenied("Policy Condition failed: %s", c)
		}
		covered[c.field] = true
	}
	var extra []string
	for name := range fields {
		if !covered[name] && !exemptField(name) {
			extra = append(extra, name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return policyDenied("Extra input fields: %s", strings.Join(extra, ", "))
	}
	return nil
}

// exemptField reports whether a form field needs no policy condition:
// x-amz-signature, file, policy and x-ignore-* (AWS), and bucket, which
// comes from the URL rather than the form.
func exemptField(name string) bool {
	switch name {
	case "x-amz-signature", "file", "policy", "bucket":
		return true
	}
	return strings.HasPrefix(name, "x-ignore-")
}

// clipped bounds client text echoed in a message.
func clipped(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
