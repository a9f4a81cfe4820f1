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

// errInvalidPolicyDocument answers a POST policy that cannot be read.
var errInvalidPolicyDocument = &s3err.Error{Code: "InvalidPolicyDocument", Status: http.StatusBadRequest,
	Message: "The content of the form does not meet the conditions specified in the policy document."}

// policyError is InvalidPolicyDocument with AWS's "Invalid Policy: "
// prefix.
func policyError(format string, args ...any) error {
	return errInvalidPolicyDocument.WithMessage("Invalid Policy: "+format, args...)
}

// policyDenied is AWS's AccessDenied for a form the policy does not allow.
func policyDenied(format string, args ...any) error {
	return s3err.AccessDenied.WithMessage("Invalid according to Policy: "+format, args...)
}

// postCondition is one condition of a POST policy: op is "eq" or
// "starts-with" on field (lower case, without the "$"); the exact-match
// object form {"field": "value"} is an "eq". name is the field as the
// policy spells it (for messages); a name without "$" names no field and
// never holds, as on S3.
type postCondition struct {
	op, name, field, value string
}

// String is the condition as AWS quotes it in its error messages.
func (c postCondition) String() string {
	return fmt.Sprintf("[%q, %q, %q]", c.op, c.name, c.value)
}

// holds reports whether the condition holds on the form's fields. A field
// the form lacks fails every condition (S3 refuses a form without a field
// its policy names, even with an empty starts-with). A starts-with on
// Content-Type holds when every type of a comma-separated list starts
// with the prefix.
func (c postCondition) holds(fields map[string]string) bool {
	v, ok := fields[c.field]
	if !ok || c.field == "" {
		return false
	}
	if c.op == "eq" {
		return v == c.value
	}
	if c.field != "content-type" {
		return strings.HasPrefix(v, c.value)
	}
	for t := range strings.SplitSeq(v, ",") {
		if !strings.HasPrefix(strings.TrimSpace(t), c.value) {
			return false
		}
	}
	return true
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

// parsePostPolicy decodes the base64 policy field: a JSON object with
// exactly the members expiration (ISO 8601, UTC) and conditions (a list).
func parsePostPolicy(b64 string) (*postPolicy, error) {
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, policyError("Invalid Base64 Encoding.")
	}
	var doc map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(raw))
	if err := dec.Decode(&doc); err != nil || dec.More() || doc == nil {
		return nil, policyError("Invalid JSON.")
	}
	for name := range doc {
		if name != "expiration" && name != "conditions" {
			return nil, policyError("Unexpected: '%s'", clipped(strings.ToLower(name)))
		}
	}
	var exp string
	if doc["expiration"] == nil {
		return nil, policyError("Policy missing expiration.")
	}
	if json.Unmarshal(doc["expiration"], &exp) != nil {
		return nil, policyError("Invalid 'expiration' value: %s", clipped(string(doc["expiration"])))
	}
	t, err := time.Parse(time.RFC3339Nano, exp)
	if err != nil || !strings.HasSuffix(exp, "Z") {
		return nil, policyError("Invalid 'expiration' value: '%s'", clipped(exp))
	}
	var conds []json.RawMessage
	if doc["conditions"] == nil {
		return nil, policyError("Policy missing conditions.")
	}
	if json.Unmarshal(doc["conditions"], &conds) != nil || conds == nil {
		return nil, policyError("Invalid 'conditions' value: must be a List.")
	}
	p := &postPolicy{expiration: t}
	for _, c := range conds {
		if err := p.addCondition(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// addCondition parses one element of the conditions list.
func (p *postPolicy) addCondition(raw json.RawMessage) error {
	switch raw[0] {
	case '{':
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			return policyError("Invalid JSON.")
		}
		if len(m) != 1 {
			return policyError("Invalid Simple-Condition: Simple-Conditions must have exactly one property specified.")
		}
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				return policyError("Invalid Simple-Condition: value must be a string.")
			}
			p.conds = append(p.conds, newCondition("eq", "$"+k, s))
		}
		return nil
	case '[':
		return p.addListCondition(raw)
	}
	return policyError("Invalid condition test: must be a List or Object.")
}

// newCondition makes the condition op name value.
func newCondition(op, name, value string) postCondition {
	c := postCondition{op: op, name: name, value: value}
	if f, ok := strings.CutPrefix(name, "$"); ok {
		c.field = strings.ToLower(f)
	}
	return c
}

// addListCondition parses ["eq"|"starts-with", "$field", "value"] and
// ["content-length-range", min, max].
func (p *postPolicy) addListCondition(raw json.RawMessage) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var a []any
	if err := dec.Decode(&a); err != nil {
		return policyError("Invalid JSON.")
	}
	if len(a) == 0 {
		return policyError("Invalid Condition: missing operation identifier.")
	}
	op, ok := a[0].(string)
	if !ok {
		return policyError("Invalid Condition: missing operation identifier.")
	}
	op = strings.ToLower(op)
	switch op {
	case "content-length-range", "eq", "starts-with":
	default:
		return policyError("Invalid Condition: unknown operation '%s'.", clipped(op))
	}
	if len(a) != 3 {
		return policyError("Invalid %s: wrong number of arguments.", op)
	}
	if op == "content-length-range" {
		return p.addLengthRange(a[1], a[2])
	}
	name, ok1 := a[1].(string)
	value, ok2 := a[2].(string)
	if !ok1 || !ok2 {
		return policyError("Invalid JSON.")
	}
	c := newCondition(op, name, value)
	if op == "starts-with" && exactOnlyFields[c.field] {
		return policyError("Invalid Condition: the %s field supports only exact matches.", c.field)
	}
	p.conds = append(p.conds, c)
	return nil
}

// addLengthRange adds a content-length-range: integers (or strings holding
// them), not negative, min <= max. Several ranges must all hold.
func (p *postPolicy) addLengthRange(a, b any) error {
	lo, ok1 := policyInt(a)
	hi, ok2 := policyInt(b)
	if !ok1 || !ok2 || lo > hi {
		return policyError("Invalid content-length-range: [%v, %v]", a, b)
	}
	if p.hasLen {
		lo, hi = max(lo, p.minLen), min(hi, p.maxLen)
	}
	p.minLen, p.maxLen, p.hasLen = lo, hi, true
	return nil
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
// by a condition except those AWS exempts. urlBucket tells that the form
// has no bucket field (fields' bucket is the URL's): it then needs no
// condition; a bucket field the form sends does, as every form field
// (AWS: "Each form field that you specify in a form (except
// x-amz-signature, file, policy, and field names that have an x-ignore-
// prefix) must appear in the list of conditions"). The file's size is
// checked as it streams (see lengthRange).
func (p *postPolicy) check(now time.Time, fields map[string]string, urlBucket bool) error {
	if !now.Before(p.expiration) {
		return policyDenied("Policy expired.")
	}
	covered := make(map[string]bool, len(p.conds))
	for _, c := range p.conds {
		if !c.holds(fields) {
			return policyDenied("Policy Condition failed: %s", c)
		}
		covered[c.field] = true
	}
	var extra []string
	for name := range fields {
		if !covered[name] && !exemptField(name) && !(urlBucket && name == "bucket") {
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
// x-amz-signature, file, policy and x-ignore-* (AWS).
func exemptField(name string) bool {
	switch name {
	case "x-amz-signature", "file", "policy":
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
