package policy

import (
	"strings"
	"testing"
)

var opts = Options{Bucket: "pub", OrderID: "o1", IsKey: func(k string) bool { return k == "AKRW" || k == "AKRO" },
	Aliases: map[string]string{"s3:headobject": "s3:getobject", "s3:listobjectsv2": "s3:listbucket"}}

func mustParse(t *testing.T, doc string) *Policy {
	t.Helper()
	p, err := Parse([]byte(doc), opts)
	if err != nil {
		t.Fatalf("Parse(%s): %v", doc, err)
	}
	return p
}

func stmt(body string) string {
	return `{"Version":"2012-10-17","Statement":[` + body + `]}`
}

func TestParseRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"empty", ``, "valid JSON"},
		{"not json", `{"Version":`, "JSON object"},
		{"trailing", `{"Statement":[]} {}`, "nothing after"},
		{"unknown top", `{"Version":"2012-10-17","Foo":1,"Statement":[]}`, `"Foo"`},
		{"bad version", `{"Version":"2020-01-01","Statement":[]}`, "version"},
		{"no statement", `{"Version":"2012-10-17"}`, "Statement"},
		{"empty statements", stmt(``), "Statement"},
		{"NotPrincipal", stmt(`{"Effect":"Allow","NotPrincipal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), `"NotPrincipal"`},
		{"bad effect", stmt(`{"Effect":"Maybe","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), "Effect"},
		{"no principal", stmt(`{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), "Principal"},
		{"service principal", stmt(`{"Effect":"Allow","Principal":{"Service":"logging.s3.amazonaws.com"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), `"Service"`},
		{"canonical user", stmt(`{"Effect":"Allow","Principal":{"CanonicalUser":"abc"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), `"CanonicalUser"`},
		{"foreign account", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), "Invalid principal"},
		{"unknown key", stmt(`{"Effect":"Allow","Principal":{"AWS":"AKNOPE"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), "Invalid principal"},
		{"no action", stmt(`{"Effect":"Allow","Principal":"*","Resource":"arn:aws:s3:::pub/*"}`), "Action"},
		{"both actions", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotAction":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), "not both"},
		{"other service", stmt(`{"Effect":"Allow","Principal":"*","Action":"iam:PassRole","Resource":"arn:aws:s3:::pub/*"}`), "invalid action"},
		{"unknown action", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObjekt","Resource":"arn:aws:s3:::pub/*"}`), "invalid action"},
		{"other bucket", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::other/*"}`), "invalid resource"},
		{"bucket wildcard", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pu*/*"}`), "invalid resource"},
		{"not s3 arn", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:sqs:::pub"}`), "invalid resource"},
		{"variable", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/${aws:username}/*"}`), "Policy variables"},
		{"action on wrong kind", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub"}`), "does not apply"},
		{"unsupported operator", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2020-01-01T00:00:00Z"}}}`), `"DateGreaterThan"`},
		{"IfExists", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringEqualsIfExists":{"aws:Referer":"x"}}}`), `"StringEqualsIfExists"`},
		{"set qualifier", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"ForAnyValue:StringEquals":{"aws:Referer":"x"}}}`), `"ForAnyValue:StringEquals"`},
		{"unsupported key", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringEquals":{"aws:SourceVpce":"vpce-1"}}}`), `"aws:SourceVpce"`},
		{"key with wrong operator", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringEquals":{"aws:SourceIp":"1.2.3.4"}}}`), `"aws:SourceIp"`},
		{"bad ip", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"1.2.3.400/8"}}}`), "Invalid IP"},
		{"bad bool", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*","Condition":{"Bool":{"aws:SecureTransport":"yes"}}}`), `"yes"`},
		{"object tags", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/public":"yes"}}}`), "object tags"},
		{"duplicate sid", stmt(`{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"},{"Sid":"a","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), "unique"},
		{"duplicate element", stmt(`{"Effect":"Deny","Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), `"Effect" twice`},
		{"duplicate condition key", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8","aws:SourceIp":"0.0.0.0/0"}}}`), "twice"},
		{"array top", `[]`, "JSON object"},
		{"too large", `{"Statement":"` + strings.Repeat("x", MaxSize) + `"}`, "at most"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc), opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse: %v, want an error containing %q", err, tc.want)
			}
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T, want *Error", err)
			}
		})
	}
}

func TestObjectTagsAllowedWhenEvaluable(t *testing.T) {
	o := opts
	o.ObjectTags = true
	doc := stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringEquals":{"s3:ExistingObjectTag/public":"yes"}}}`)
	p, err := Parse([]byte(doc), o)
	if err != nil {
		t.Fatal(err)
	}
	get := &Request{Actions: []string{"s3:GetObject"}, Resource: "arn:aws:s3:::pub/a"}
	if d := p.Evaluate(get); d != NoMatch {
		t.Fatalf("untagged object: %v", d)
	}
	get.Context = map[string][]string{"s3:existingobjecttag/public": {"yes"}}
	if d := p.Evaluate(get); d != Allow {
		t.Fatalf("tagged object: %v", d)
	}
	if !p.UsesObjectTags() || mustParse(t, stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`)).UsesObjectTags() {
		t.Fatal("UsesObjectTags is wrong")
	}
}

func TestEvaluate(t *testing.T) {
	publicRead := stmt(`{"Sid":"PublicRead","Effect":"Allow","Principal":"*","Action":["s3:GetObject"],"Resource":["arn:aws:s3:::pub/public/*"]}`)
	type req = Request
	get := func(key string) *req {
		return &req{Actions: []string{"s3:GetObject", "s3:HeadObject"}, Resource: "arn:aws:s3:::pub/" + key}
	}
	put := func(ak, key string) *req {
		return &req{AccessKey: ak, Actions: []string{"s3:PutObject"}, Resource: "arn:aws:s3:::pub/" + key}
	}
	list := func(prefix string) *req {
		return &req{Actions: []string{"s3:ListBucket", "s3:ListObjectsV2"}, Resource: "arn:aws:s3:::pub",
			Context: map[string][]string{"s3:prefix": {prefix}}}
	}
	withCtx := func(r *req, k, v string) *req {
		if r.Context == nil {
			r.Context = map[string][]string{}
		}
		r.Context[k] = append(r.Context[k], v)
		return r
	}
	for _, tc := range []struct {
		name string
		doc  string
		r    *req
		want Decision
	}{
		{"public prefix", publicRead, get("public/a.png"), Allow},
		{"outside prefix", publicRead, get("private/a.png"), NoMatch},
		{"other action", publicRead, put("", "public/a"), NoMatch},
		{"alias action", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:HeadObject","Resource":"arn:aws:s3:::pub/*"}`), get("x"), Allow},
		{"action wildcard", stmt(`{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"s3:Get*","Resource":"arn:aws:s3:::pub/*"}`), get("x"), Allow},
		{"action case", stmt(`{"Effect":"Allow","Principal":"*","Action":"S3:getobject","Resource":"arn:aws:s3:::pub/*"}`), get("x"), Allow},
		{"resource case", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/Public/*"}`), get("public/x"), NoMatch},
		{"star resource", stmt(`{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}`), get("x"), Allow},
		{"question mark", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/a?c"}`), get("abc"), Allow},
		{"NotAction", stmt(`{"Effect":"Allow","Principal":"*","NotAction":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), get("x"), Allow},
		{"NotAction excludes", stmt(`{"Effect":"Allow","Principal":"*","NotAction":"s3:Get*","Resource":"arn:aws:s3:::pub/*"}`), get("x"), NoMatch},
		{"NotAction alias excludes", stmt(`{"Effect":"Allow","Principal":"*","NotAction":"s3:HeadObject","Resource":"arn:aws:s3:::pub/*"}`), get("x"), NoMatch},
		{"NotResource", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::pub/secret/*"}`), get("x"), Allow},
		{"NotResource excludes", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","NotResource":"arn:aws:s3:::pub/secret/*"}`), get("secret/x"), NoMatch},
		{"deny wins", publicRead[:len(publicRead)-2] + `,{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/public/secret*"}]}`, get("public/secret.txt"), Deny},
		{"deny before allow", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*"},{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*"}`), get("x"), Deny},
		{"key principal bare", stmt(`{"Effect":"Deny","Principal":{"AWS":"AKRW"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), put("AKRW", "x"), Deny},
		{"key principal arn", stmt(`{"Effect":"Deny","Principal":{"AWS":["arn:aws:iam::o1:user/AKRW"]},"Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), put("AKRW", "x"), Deny},
		{"other key", stmt(`{"Effect":"Deny","Principal":{"AWS":"AKRW"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), put("AKRO", "x"), NoMatch},
		{"key principal not anonymous", stmt(`{"Effect":"Allow","Principal":{"AWS":"AKRW"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), get("x"), NoMatch},
		{"order root", stmt(`{"Effect":"Deny","Principal":{"AWS":"arn:aws:iam::o1:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), put("AKRO", "x"), Deny},
		{"order root not anonymous", stmt(`{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::o1:root"},"Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), put("", "x"), NoMatch},
		{"star includes keys", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:PutObject","Resource":"arn:aws:s3:::pub/*"}`), put("AKRW", "x"), Deny},
		{"source ip in", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.1"]}}}`), withCtx(get("x"), "aws:sourceip", "10.1.2.3"), Allow},
		{"source ip exact", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","192.0.2.1"]}}}`), withCtx(get("x"), "aws:sourceip", "192.0.2.1"), Allow},
		{"source ip out", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), withCtx(get("x"), "aws:sourceip", "11.0.0.1"), NoMatch},
		{"source ip v6", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"2001:db8::/32"}}}`), withCtx(get("x"), "aws:sourceip", "2001:db8::1"), Allow},
		{"not ip address", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), withCtx(get("x"), "aws:sourceip", "11.0.0.1"), Deny},
		{"not ip address inside", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*","Condition":{"NotIpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), withCtx(get("x"), "aws:sourceip", "10.0.0.1"), NoMatch},
		{"insecure denied", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*","Condition":{"Bool":{"aws:SecureTransport":"false"}}}`), withCtx(get("x"), "aws:securetransport", "false"), Deny},
		{"secure passes", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*","Condition":{"Bool":{"aws:SecureTransport":false}}}`), withCtx(get("x"), "aws:securetransport", "true"), NoMatch},
		{"referer like", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringLike":{"aws:Referer":["https://example.com/*"]}}}`), withCtx(get("x"), "aws:referer", "https://example.com/page"), Allow},
		{"referer missing", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringLike":{"aws:Referer":["https://example.com/*"]}}}`), get("x"), NoMatch},
		{"referer not like missing", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringNotLike":{"aws:Referer":["https://example.com/*"]}}}`), get("x"), Deny},
		{"referer ignore case", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringEqualsIgnoreCase":{"aws:Referer":"HTTPS://A"}}}`), withCtx(get("x"), "aws:referer", "https://a"), Allow},
		{"referer equals case", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringEquals":{"aws:Referer":"HTTPS://A"}}}`), withCtx(get("x"), "aws:referer", "https://a"), NoMatch},
		{"null referer", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"Null":{"aws:Referer":"true"}}}`), get("x"), Deny},
		{"prefix equals", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub","Condition":{"StringEquals":{"s3:prefix":["public/",""]}}}`), list("public/"), Allow},
		{"prefix other", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub","Condition":{"StringEquals":{"s3:prefix":["public/",""]}}}`), list("private/"), NoMatch},
		{"prefix like", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:ListBucket","Resource":"arn:aws:s3:::pub","Condition":{"StringLike":{"s3:prefix":"public/*"}}}`), list("public/2024/"), Allow},
		{"conditions and", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},"Bool":{"aws:SecureTransport":"true"}}}`), withCtx(withCtx(get("x"), "aws:sourceip", "10.0.0.1"), "aws:securetransport", "false"), NoMatch},
		{"bucket resource not object", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub"}`), get("x"), NoMatch},
		{"star matches slash", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), get("a/b/c"), Allow},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mustParse(t, tc.doc)
			if got := p.Evaluate(tc.r); got != tc.want {
				t.Fatalf("Evaluate = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestNilPolicy(t *testing.T) {
	var p *Policy
	if p.Evaluate(&Request{}) != NoMatch || p.IsPublic() {
		t.Fatal("nil policy must neither match nor be public")
	}
}

func TestIsPublic(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      bool
	}{
		{"anyone", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), true},
		{"aws star", stmt(`{"Effect":"Allow","Principal":{"AWS":["AKRW","*"]},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), true},
		{"key only", stmt(`{"Effect":"Allow","Principal":{"AWS":"AKRW"},"Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`), false},
		{"deny only", stmt(`{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"arn:aws:s3:::pub/*"}`), false},
		{"narrow ip", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"}}}`), false},
		{"wide ip", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","0.0.0.0/0"]}}}`), true},
		{"referer is not fixed", stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*","Condition":{"StringLike":{"aws:Referer":"https://a/*"}}}`), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := mustParse(t, tc.doc).IsPublic(); got != tc.want {
				t.Fatalf("IsPublic = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestWildcard(t *testing.T) {
	for _, tc := range []struct {
		pat, s string
		want   bool
	}{
		{"", "", true}, {"*", "", true}, {"a*", "a", true}, {"a*c", "abbbc", true}, {"a*c", "abbb", false},
		{"a?c", "abc", true}, {"a?c", "ac", false}, {"*b*", "aaabaaa", true}, {"**", "x", true},
		{"a*b*c", "axxbyyc", true}, {"a*b*c", "axxcyyb", false},
		{strings.Repeat("*a", 30) + "b", strings.Repeat("a", 100), false},
	} {
		if got := wildcard(tc.pat, tc.s); got != tc.want {
			t.Errorf("wildcard(%q, %q) = %v, want %v", tc.pat, tc.s, got, tc.want)
		}
	}
}
