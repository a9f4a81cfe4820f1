// Package policy parses, validates and evaluates S3 bucket policies: the
// subset of the IAM policy language documented in docs/access.md. A
// document using anything outside the subset is refused by Parse with an
// error naming the element, never accepted and silently ignored.
//
// Principals are "*" (anyone, signed or not), the order's keys, as a bare
// access key or arn:aws:iam::<order-id>:user/<access-key>, and the whole
// order, arn:aws:iam::<order-id>:root (any of its keys).
package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// MaxSize is the largest policy document accepted, as on AWS (20 KB).
const MaxSize = 20 << 10

// Error is a policy refused by Parse; its message names what is wrong.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

func errorf(format string, args ...any) error { return &Error{Msg: fmt.Sprintf(format, args...)} }

// Options tell Parse what the policy may refer to.
type Options struct {
	// Bucket is the bucket the policy is for: every resource must be in it.
	Bucket string
	// OrderID is the account part of the principal ARNs.
	OrderID string
	// IsKey reports whether an access key belongs to the order.
	IsKey func(accessKey string) bool
	// Aliases are further action names a policy may use (lower-cased,
	// e.g. the gateway's operation "s3:headobject"), each mapped to the
	// S3 action (lower-cased) whose resource kind it has.
	Aliases map[string]string
	// ObjectTags allows s3:ExistingObjectTag conditions; without it they
	// are refused (the gateway cannot evaluate them).
	ObjectTags bool
}

// Policy is a parsed, validated bucket policy.
type Policy struct {
	statements []statement
}

// Decision is what a policy says about a request.
type Decision int

// Decisions.
const (
	// NoMatch: no statement applies.
	NoMatch Decision = iota
	// Allow: an Allow statement applies and no Deny does.
	Allow
	// Deny: a Deny statement applies (it wins over any Allow).
	Deny
)

// Request is what a policy is evaluated against.
type Request struct {
	// AccessKey is the key that signed the request; "" when anonymous.
	AccessKey string
	// Actions are the names the request's operation answers to, e.g.
	// "s3:GetObject" and the gateway's own "s3:HeadObject".
	Actions []string
	// Resource is the ARN of the bucket or object.
	Resource string
	// Context holds the condition keys the request has, lower-cased
	// ("aws:sourceip", "aws:securetransport", "aws:referer", "s3:prefix",
	// "s3:existingobjecttag/<tag>"); a key absent from it is absent from
	// the request.
	Context map[string][]string
}

// Evaluate returns Deny if a Deny statement applies to r, else Allow if
// an Allow statement does, else NoMatch. A nil policy never matches.
func (p *Policy) Evaluate(r *Request) Decision {
	if p == nil {
		return NoMatch
	}
	d := NoMatch
	for i := range p.statements {
		s := &p.statements[i]
		if !s.applies(r) {
			continue
		}
		if s.deny {
			return Deny
		}
		d = Allow
	}
	return d
}

// IsPublic reports whether the policy grants anything to anyone: an Allow
// statement for Principal "*" that no fixed condition (an aws:SourceIp
// IpAddress range of at least /8 for IPv4, /32 for IPv6) narrows.
func (p *Policy) IsPublic() bool {
	if p == nil {
		return false
	}
	for _, s := range p.statements {
		if !s.deny && s.principal.anyone && !s.fixedSource() {
			return true
		}
	}
	return false
}

// UsesObjectTags reports whether a condition of the policy reads the
// object's tags (s3:ExistingObjectTag/<tag>): the request's Context must
// then carry them.
func (p *Policy) UsesObjectTags() bool {
	if p == nil {
		return false
	}
	for _, s := range p.statements {
		for _, c := range s.conditions {
			if strings.HasPrefix(c.key, ObjectTagKey) {
				return true
			}
		}
	}
	return false
}

// ObjectTagKey prefixes the condition key of an object tag in Context.
const ObjectTagKey = "s3:existingobjecttag/"

// statementFields are the elements a statement may have.
var statementFields = []string{"Sid", "Effect", "Principal", "Action", "NotAction", "Resource", "NotResource", "Condition"}

// Parse validates doc, a bucket policy in JSON, and returns it parsed.
// Anything outside the supported subset is an *Error naming it.
func Parse(doc []byte, o Options) (*Policy, error) {
	if len(doc) > MaxSize {
		return nil, errorf("Policies must be at most %d bytes.", MaxSize)
	}
	if len(bytes.TrimSpace(doc)) == 0 {
		return nil, errorf("Policies must be valid JSON and the first byte must be '{'")
	}
	top, err := object(doc, "the policy")
	if err != nil {
		return nil, err
	}
	for name := range top {
		switch name {
		case "Version", "Id", "Statement":
		default:
			return nil, errorf("Unsupported policy element %q: the gateway supports Version, Id and Statement.", name)
		}
	}
	if v, ok := top["Version"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil || s != "2012-10-17" && s != "2008-10-17" {
			return nil, errorf("The policy must contain a valid version string (2012-10-17 or 2008-10-17).")
		}
	}
	if v, ok := top["Id"]; ok {
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil, errorf("Id must be a string.")
		}
	}
	raws, err := listOf(top["Statement"], "Statement")
	if err != nil {
		return nil, err
	}
	if len(raws) == 0 {
		return nil, errorf("Missing required field Statement.")
	}
	p := &Policy{}
	sids := map[string]bool{}
	for i, raw := range raws {
		s, sid, err := parseStatement(raw, o)
		if err != nil {
			return nil, errorf("Statement %d: %s", i+1, err.(*Error).Msg)
		}
		if sid != "" {
			if sids[sid] {
				return nil, errorf("Statement IDs (SID) in a single policy must be unique: %q is repeated.", sid)
			}
			sids[sid] = true
		}
		p.statements = append(p.statements, s)
	}
	return p, nil
}

// object decodes raw as one JSON object (and nothing after it). A name
// given twice is refused: only one of its values would apply.
func object(raw []byte, what string) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	notObject := errorf("%s must be a JSON object.", what)
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, notObject
	}
	m := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		name, ok := t.(string)
		if err != nil || !ok {
			return nil, notObject
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, notObject
		}
		if _, dup := m[name]; dup {
			return nil, errorf("%s names %q twice.", what, name)
		}
		m[name] = v
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, notObject
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errorf("%s must be one JSON object, with nothing after it.", what)
	}
	return m, nil
}

// listOf decodes raw as a JSON value or an array of them.
func listOf(raw json.RawMessage, what string) ([]json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return nil, nil
	}
	if raw[0] != '[' {
		return []json.RawMessage{raw}, nil
	}
	var l []json.RawMessage
	if err := json.Unmarshal(raw, &l); err != nil {
		return nil, errorf("%s must be a value or an array of values.", what)
	}
	return l, nil
}

// strings decodes raw as a string or an array of strings (at least one).
func stringList(raw json.RawMessage, what string) ([]string, error) {
	l, err := listOf(raw, what)
	if err != nil {
		return nil, err
	}
	if len(l) == 0 {
		return nil, errorf("%s must not be empty.", what)
	}
	out := make([]string, len(l))
	for i, v := range l {
		if err := json.Unmarshal(v, &out[i]); err != nil {
			return nil, errorf("%s must be a string or an array of strings.", what)
		}
	}
	return out, nil
}

// parseStatement validates one statement.
func parseStatement(raw json.RawMessage, o Options) (statement, string, error) {
	var s statement
	m, err := object(raw, "A statement")
	if err != nil {
		return s, "", err
	}
	for name := range m {
		if !contains(statementFields, name) {
			return s, "", errorf("Unsupported policy element %q (the gateway supports %s).", name, strings.Join(statementFields, ", "))
		}
	}
	var sid string
	if v, ok := m["Sid"]; ok && json.Unmarshal(v, &sid) != nil {
		return s, "", errorf("Sid must be a string.")
	}
	var effect string
	if json.Unmarshal(m["Effect"], &effect) != nil || effect != "Allow" && effect != "Deny" {
		return s, "", errorf("Effect must be \"Allow\" or \"Deny\".")
	}
	s.deny = effect == "Deny"
	if _, ok := m["Principal"]; !ok {
		return s, "", errorf("Missing required field Principal.")
	}
	if s.principal, err = parsePrincipal(m["Principal"], o); err != nil {
		return s, "", err
	}
	if s.actions, s.notAction, err = parseActions(m, o.Aliases); err != nil {
		return s, "", err
	}
	if s.resources, s.notResource, err = parseResources(m, o.Bucket); err != nil {
		return s, "", err
	}
	if err := s.checkActionsApply(o.Aliases); err != nil {
		return s, "", err
	}
	if v, ok := m["Condition"]; ok {
		if s.conditions, err = parseConditions(v, o); err != nil {
			return s, "", err
		}
	}
	return s, sid, nil
}

// exactlyOne returns the element of m named a or b, refusing both or none.
func exactlyOne(m map[string]json.RawMessage, a, b string) (json.RawMessage, bool, error) {
	va, oka := m[a]
	vb, okb := m[b]
	switch {
	case oka && okb:
		return nil, false, errorf("A statement may have %s or %s, not both.", a, b)
	case oka:
		return va, false, nil
	case okb:
		return vb, true, nil
	}
	return nil, false, errorf("Missing required field %s.", a)
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}
