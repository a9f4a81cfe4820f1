package policy

import (
	"encoding/json"
	"strings"
)

// statement is one parsed statement.
type statement struct {
	deny        bool
	principal   principal
	actions     []string // lower-cased patterns
	notAction   bool
	resources   []string // ARN patterns; "*" matches any
	notResource bool
	conditions  []condition
}

// principal is whom a statement is about.
type principal struct {
	anyone  bool            // "*": every request, signed or anonymous
	allKeys bool            // the order's root ARN: every signed request
	keys    map[string]bool // these access keys
}

func (p principal) matches(accessKey string) bool {
	switch {
	case p.anyone:
		return true
	case accessKey == "":
		return false
	}
	return p.allKeys || p.keys[accessKey]
}

// applies reports whether s is about r.
func (s *statement) applies(r *Request) bool {
	if !s.principal.matches(r.AccessKey) {
		return false
	}
	if s.matchesAction(r.Actions) == s.notAction {
		return false
	}
	if s.matchesResource(r.Resource) == s.notResource {
		return false
	}
	for _, c := range s.conditions {
		if !c.holds(r.Context) {
			return false
		}
	}
	return true
}

func (s *statement) matchesAction(names []string) bool {
	for _, pat := range s.actions {
		for _, n := range names {
			if wildcard(pat, strings.ToLower(n)) {
				return true
			}
		}
	}
	return false
}

func (s *statement) matchesResource(arn string) bool {
	for _, pat := range s.resources {
		if wildcard(pat, arn) {
			return true
		}
	}
	return false
}

// fixedSource reports whether a condition confines s to fixed source
// addresses (see IsPublic).
func (s *statement) fixedSource() bool {
	for _, c := range s.conditions {
		if c.op == "ipaddress" && c.key == "aws:sourceip" && c.narrow() {
			return true
		}
	}
	return false
}

// parsePrincipal accepts "*", {"AWS": "*"} and {"AWS": [...]} naming the
// order's keys or the order itself.
func parsePrincipal(raw json.RawMessage, o Options) (principal, error) {
	var p principal
	var star string
	if json.Unmarshal(raw, &star) == nil {
		if star != "*" {
			return p, errorf("Invalid principal in policy: %q (use \"*\" or {\"AWS\": ...}).", star)
		}
		p.anyone = true
		return p, nil
	}
	m, err := object(raw, "Principal")
	if err != nil {
		return p, err
	}
	for name := range m {
		if name != "AWS" {
			return p, errorf("Unsupported principal type %q: the gateway supports \"*\" and \"AWS\" principals.", name)
		}
	}
	ids, err := stringList(m["AWS"], "Principal AWS")
	if err != nil {
		return p, err
	}
	arn := "arn:aws:iam::" + o.OrderID + ":"
	for _, id := range ids {
		switch {
		case id == "*":
			p.anyone = true
		case id == arn+"root" || id == o.OrderID && o.OrderID != "":
			p.allKeys = true
		case strings.HasPrefix(id, arn+"user/") && o.IsKey(strings.TrimPrefix(id, arn+"user/")):
			p.addKey(strings.TrimPrefix(id, arn+"user/"))
		case o.IsKey(id):
			p.addKey(id)
		default:
			return p, errorf("Invalid principal in policy: %q is not a key of order %s (use %suser/<access-key>, the bare access key, %sroot or \"*\").", id, o.OrderID, arn, arn)
		}
	}
	return p, nil
}

func (p *principal) addKey(k string) {
	if p.keys == nil {
		p.keys = map[string]bool{}
	}
	p.keys[k] = true
}

// parseActions reads Action or NotAction: S3 actions, with wildcards.
func parseActions(m map[string]json.RawMessage, aliases map[string]string) ([]string, bool, error) {
	raw, not, err := exactlyOne(m, "Action", "NotAction")
	if err != nil {
		return nil, false, err
	}
	l, err := stringList(raw, "Action")
	if err != nil {
		return nil, false, err
	}
	for i, a := range l {
		a = strings.ToLower(a)
		switch {
		case a == "*":
		case !strings.HasPrefix(a, "s3:"):
			return nil, false, errorf("Policy has invalid action: %q (only s3: actions apply to buckets).", l[i])
		case !strings.ContainsAny(a, "*?") && !KnownAction(a) && aliases[a] == "":
			return nil, false, errorf("Policy has invalid action: %q.", l[i])
		}
		l[i] = a
	}
	return l, not, nil
}

// parseResources reads Resource or NotResource: "*", the bucket's ARN or
// ARNs of objects in it (wildcards in the key part).
func parseResources(m map[string]json.RawMessage, bucket string) ([]string, bool, error) {
	raw, not, err := exactlyOne(m, "Resource", "NotResource")
	if err != nil {
		return nil, false, err
	}
	l, err := stringList(raw, "Resource")
	if err != nil {
		return nil, false, err
	}
	for _, r := range l {
		if r == "*" {
			continue
		}
		if strings.Contains(r, "${") {
			return nil, false, errorf("Policy variables (%q) are not supported.", r)
		}
		rest, ok := strings.CutPrefix(r, "arn:aws:s3:::")
		b, _, _ := strings.Cut(rest, "/")
		if !ok || b != bucket {
			return nil, false, errorf("Policy has invalid resource: %q (use arn:aws:s3:::%s or arn:aws:s3:::%s/<key pattern>).", r, bucket, bucket)
		}
	}
	return l, not, nil
}

// checkActionsApply refuses, as AWS does, a statement none of whose
// (wildcard-free) actions applies to any of its resources.
func (s *statement) checkActionsApply(aliases map[string]string) error {
	if s.notAction || s.notResource || contains(s.resources, "*") {
		return nil
	}
	kinds := map[int]bool{}
	for _, r := range s.resources {
		if strings.Contains(strings.TrimPrefix(r, "arn:aws:s3:::"), "/") {
			kinds[kindObject] = true
		} else {
			kinds[kindBucket] = true
		}
	}
	for _, a := range s.actions {
		if t, ok := aliases[a]; ok {
			a = t
		}
		if strings.ContainsAny(a, "*?") || kinds[actions[a]] {
			return nil
		}
	}
	return errorf("Action does not apply to any resource(s) in statement.")
}

// wildcard matches s against pat, where * is any run of characters and ?
// any one character.
func wildcard(pat, s string) bool {
	// Iterative matching with backtracking to the last star: linear in
	// practice, never exponential.
	p, i, star, mark := 0, 0, -1, 0
	for i < len(s) {
		switch {
		case p < len(pat) && (pat[p] == '?' || pat[p] == s[i]):
			p++
			i++
		case p < len(pat) && pat[p] == '*':
			star, mark = p, i
			p++
		case star >= 0:
			p = star + 1
			mark++
			i = mark
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == '*' {
		p++
	}
	return p == len(pat)
}
