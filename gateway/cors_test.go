package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/s3err"
)

// corsXML builds a configuration from rule bodies.
func corsXML(rules ...string) []byte {
	var b strings.Builder
	b.WriteString(`<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`)
	for _, r := range rules {
		b.WriteString("<CORSRule>" + r + "</CORSRule>")
	}
	b.WriteString("</CORSConfiguration>")
	return []byte(b.String())
}

func TestParseCORSValidation(t *testing.T) {
	ok := `<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`
	many := make([]string, maxCORSRules+1)
	for i := range many {
		many[i] = ok
	}
	for _, tt := range []struct {
		name string
		doc  []byte
		code string // "" for valid
		msg  string // a part of the message
	}{
		{"minimal", corsXML(ok), "", ""},
		{"no namespace", []byte(`<CORSConfiguration><CORSRule>` + ok + `</CORSRule></CORSConfiguration>`), "", ""},
		{"every member", corsXML(`<ID>r1</ID><AllowedOrigin>http://*.example.com</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>
			<AllowedMethod>POST</AllowedMethod><AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>`), "", ""},
		{"empty origin accepted", corsXML(`<AllowedOrigin></AllowedOrigin><AllowedMethod>GET</AllowedMethod>`), "", ""},
		{"100 rules", corsXML(many[:maxCORSRules]...), "", ""},
		{"101 rules", corsXML(many...), "MalformedXML", "at most 100 rules"},
		{"no rules", corsXML(), "MalformedXML", ""},
		{"not XML", []byte("{}"), "MalformedXML", ""},
		{"wrong root", []byte(`<Cors><CORSRule>` + ok + `</CORSRule></Cors>`), "MalformedXML", ""},
		{"empty rule", corsXML(""), "MalformedXML", ""},
		{"no method", corsXML(`<AllowedOrigin>*</AllowedOrigin>`), "MalformedXML", ""},
		{"no origin", corsXML(`<AllowedMethod>GET</AllowedMethod>`), "MalformedXML", ""},
		{"unknown element", corsXML(ok + `<AllowedOrigins>x</AllowedOrigins>`), "MalformedXML", "AllowedOrigins"},
		{"two max ages", corsXML(ok + `<MaxAgeSeconds>1</MaxAgeSeconds><MaxAgeSeconds>2</MaxAgeSeconds>`), "MalformedXML", ""},
		{"two IDs", corsXML(ok + `<ID>a</ID><ID>b</ID>`), "MalformedXML", ""},
		{"max age not a number", corsXML(ok + `<MaxAgeSeconds>ten</MaxAgeSeconds>`), "MalformedXML", ""},
		{"max age too big", corsXML(ok + `<MaxAgeSeconds>2147483648</MaxAgeSeconds>`), "MalformedXML", ""},
		{"max age negative", corsXML(ok + `<MaxAgeSeconds>-1</MaxAgeSeconds>`), "InvalidRequest", "negative"},
		{"unsupported method", corsXML(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PATCH</AllowedMethod>`), "InvalidRequest", "Unsupported method is PATCH"},
		{"OPTIONS method", corsXML(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>OPTIONS</AllowedMethod>`), "InvalidRequest", "Unsupported method is OPTIONS"},
		{"lower-case method", corsXML(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>get</AllowedMethod>`), "InvalidRequest", "Unsupported method is get"},
		{"empty method", corsXML(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod></AllowedMethod>`), "InvalidRequest", "Unsupported method is "},
		{"two wildcards in origin", corsXML(`<AllowedOrigin>*example*.com</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`), "InvalidRequest", `AllowedOrigin "*example*.com" can not have more than one wildcard.`},
		{"two wildcards in header", corsXML(ok + `<AllowedHeader>x-*-*</AllowedHeader>`), "InvalidRequest", `AllowedHeader "x-*-*" can not have more than one wildcard.`},
		{"wildcard expose header", corsXML(ok + `<ExposeHeader>*</ExposeHeader>`), "InvalidRequest", "do not support wildcard for ExposeHeader"},
		{"control character in expose header", corsXML(ok + "<ExposeHeader>a&#10;b</ExposeHeader>"), "InvalidRequest", "invalid character"},
		{"control character in origin", corsXML("<AllowedOrigin>a&#13;b</AllowedOrigin><AllowedMethod>GET</AllowedMethod>"), "InvalidRequest", "invalid character"},
		{"ID of 255", corsXML(ok + "<ID>" + strings.Repeat("é", 255) + "</ID>"), "", ""},
		{"ID of 256", corsXML(ok + "<ID>" + strings.Repeat("i", 256) + "</ID>"), "InvalidArgument", "255"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg, canon, err := parseCORS(tt.doc)
			if tt.code == "" {
				if err != nil || cfg == nil || len(canon) == 0 {
					t.Fatalf("parseCORS: %v", err)
				}
				// The canonical form parses to the same document.
				if _, again, err := parseCORS(canon); err != nil || string(again) != string(canon) {
					t.Fatalf("canonical form not stable: %v\n%s\n%s", err, canon, again)
				}
				return
			}
			e := s3err.As(err)
			if e == nil || e.Code != tt.code || !strings.Contains(e.Message, tt.msg) {
				t.Fatalf("err = %v, want %s containing %q", err, tt.code, tt.msg)
			}
		})
	}
}

func TestParseCORSCanonical(t *testing.T) {
	_, canon, err := parseCORS([]byte(`<?xml version="1.0"?><CORSConfiguration><CORSRule>
		<MaxAgeSeconds> 0030 </MaxAgeSeconds><AllowedOrigin> https://A.example </AllowedOrigin><AllowedMethod>GET</AllowedMethod>
		<AllowedHeader>X-Amz-Date</AllowedHeader></CORSRule></CORSConfiguration>`))
	if err != nil {
		t.Fatal(err)
	}
	want := `<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><CORSRule><AllowedHeader>X-Amz-Date</AllowedHeader>` +
		`<AllowedMethod>GET</AllowedMethod><AllowedOrigin>https://A.example</AllowedOrigin><MaxAgeSeconds>30</MaxAgeSeconds></CORSRule></CORSConfiguration>`
	if string(canon) != want {
		t.Fatalf("canonical =\n%s\nwant\n%s", canon, want)
	}
}

func TestCORSMatch(t *testing.T) {
	cfg, _, err := parseCORS(corsXML(
		`<AllowedOrigin>*suffix</AllowedOrigin><AllowedOrigin>start*end</AllowedOrigin><AllowedOrigin>prefix*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`,
		`<AllowedOrigin>*.put</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`,
		`<AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>POST</AllowedMethod>
		 <AllowedHeader>Content-Type</AllowedHeader><AllowedHeader>x-amz-*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><MaxAgeSeconds>600</MaxAgeSeconds>`,
		`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>DELETE</AllowedMethod><AllowedHeader>*</AllowedHeader>`,
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		origin, method string
		headers        []string
		rule           int // index of the matching rule, -1 for none
		star           bool
	}{
		// s3-tests' test_cors_origin_response: '*' matches the empty
		// string, patterns are anchored at both ends.
		{"foo.suffix", "GET", nil, 0, false},
		{"startend", "GET", nil, 0, false},
		{"start12end", "GET", nil, 0, false},
		{"prefix", "GET", nil, 0, false},
		{"prefix.suffix", "GET", nil, 0, false},
		{"foo.bar", "GET", nil, -1, false},
		{"foo.suffix.get", "GET", nil, -1, false},
		{"0start12end", "GET", nil, -1, false},
		{"bla.prefix", "GET", nil, -1, false},
		{"foo.put", "GET", nil, -1, false},
		{"foo.put", "PUT", nil, 1, false},
		{"foo.suffix", "PUT", nil, -1, false},
		// Scheme, host and port must match exactly; a trailing slash too.
		{"https://app.example", "PUT", nil, 2, false},
		{"http://app.example", "PUT", nil, -1, false},
		{"https://app.example:443", "PUT", nil, -1, false},
		{"https://app.example/", "PUT", nil, -1, false},
		// Every requested header must be allowed (names case-insensitive).
		{"https://app.example", "POST", []string{"content-type", "x-amz-date", "x-amz-meta-a"}, 2, false},
		{"https://app.example", "POST", []string{"content-type", "authorization"}, -1, false},
		// A method the rule does not list, or that is not a CORS method.
		{"https://app.example", "GET", nil, -1, false},
		{"https://app.example", "PATCH", nil, -1, false},
		{"https://app.example", "get", nil, -1, false},
		// The "*" rule: any origin, any header.
		{"https://evil.example", "DELETE", []string{"authorization", "x-anything"}, 3, true},
		{"", "DELETE", nil, 3, true},
	} {
		m := cfg.match(tt.origin, tt.method, tt.headers)
		switch {
		case tt.rule < 0 && m != nil:
			t.Errorf("%s %s %v: matched rule %p, want none", tt.origin, tt.method, tt.headers, m.rule)
		case tt.rule >= 0 && (m == nil || m.rule != &cfg.rules[tt.rule] || m.anyOrigin != tt.star):
			t.Errorf("%s %s %v: match %+v, want rule %d star %v", tt.origin, tt.method, tt.headers, m, tt.rule, tt.star)
		}
	}
}

// TestCORSMatchFirstRuleWins: the first matching rule decides, even when a
// later one would allow more.
func TestCORSMatchFirstRuleWins(t *testing.T) {
	cfg, _, err := parseCORS(corsXML(
		`<AllowedOrigin>https://a.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>1</MaxAgeSeconds>`,
		`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>2</MaxAgeSeconds>`,
	))
	if err != nil {
		t.Fatal(err)
	}
	if m := cfg.match("https://a.example", "GET", nil); m == nil || m.rule.maxAge != "1" || m.anyOrigin {
		t.Fatalf("match = %+v, want the first rule", m)
	}
	if m := cfg.match("https://b.example", "GET", nil); m == nil || m.rule.maxAge != "2" || !m.anyOrigin {
		t.Fatalf("match = %+v, want the second rule", m)
	}
}

func TestCORSSetHeaders(t *testing.T) {
	cfg, _, err := parseCORS(corsXML(
		`<AllowedOrigin>https://app.example</AllowedOrigin><AllowedMethod>PUT</AllowedMethod><AllowedMethod>GET</AllowedMethod>
		 <AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader><ExposeHeader>x-amz-request-id</ExposeHeader><MaxAgeSeconds>3000</MaxAgeSeconds>`,
		`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`,
	))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		origin    string
		requested []string
		preflight bool
		want      http.Header
	}{
		{"https://app.example", []string{"content-type", "x-amz-date"}, true, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"PUT, GET"},
			"Access-Control-Allow-Headers":     {"content-type, x-amz-date"},
			"Access-Control-Expose-Headers":    {"ETag, x-amz-request-id"},
			"Access-Control-Max-Age":           {"3000"},
			"Vary":                             {corsVary},
		}},
		{"https://app.example", nil, false, http.Header{
			"Access-Control-Allow-Origin":      {"https://app.example"},
			"Access-Control-Allow-Credentials": {"true"},
			"Access-Control-Allow-Methods":     {"PUT, GET"},
			"Access-Control-Expose-Headers":    {"ETag, x-amz-request-id"},
			"Access-Control-Max-Age":           {"3000"},
			"Vary":                             {corsVary},
		}},
		{"https://other.example", nil, true, http.Header{
			"Access-Control-Allow-Origin":  {"*"},
			"Access-Control-Allow-Methods": {"GET"},
			"Vary":                         {corsVary},
		}},
	} {
		m := cfg.match(tt.origin, "GET", tt.requested)
		if m == nil {
			t.Fatalf("%s: no match", tt.origin)
		}
		got := http.Header{}
		m.setHeaders(got, tt.origin, tt.requested, tt.preflight)
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s preflight=%v:\n got %v\nwant %v", tt.origin, tt.preflight, got, tt.want)
		}
	}
}

func TestPreflightHeaders(t *testing.T) {
	for _, tt := range []struct {
		in   []string
		want string // joined by "|"; "ERR" for a refusal
	}{
		{nil, ""},
		{[]string{"content-type,x-amz-date"}, "content-type|x-amz-date"},
		{[]string{"Content-Type, X-Amz-Date", "x-amz-meta-a"}, "content-type|x-amz-date|x-amz-meta-a"},
		{[]string{" , a,, b ,"}, "a|b"},
		{[]string{"a b"}, "ERR"},
		{[]string{"a;b"}, "ERR"},
		{[]string{strings.Repeat("h,", maxPreflightHeaders)}, strings.TrimSuffix(strings.Repeat("h|", maxPreflightHeaders), "|")},
		{[]string{strings.Repeat("h,", maxPreflightHeaders+1)}, "ERR"},
	} {
		got, err := preflightHeaders(tt.in)
		s := strings.Join(got, "|")
		if err != nil {
			if e := s3err.As(err); e == nil || e.Code != "BadRequest" || e.Status != http.StatusBadRequest {
				t.Errorf("%q: err %v, want a BadRequest", tt.in, err)
			}
			s = "ERR"
		}
		if s != tt.want {
			t.Errorf("%q = %q, want %q", tt.in, s, tt.want)
		}
	}
}

func TestCORSCache(t *testing.T) {
	var c corsCache
	doc1 := corsXML(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`)
	doc2 := corsXML(`<AllowedOrigin>*</AllowedOrigin><AllowedMethod>PUT</AllowedMethod>`)
	a, err := c.get("b", doc1)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := c.get("b", doc1); again != a {
		t.Fatal("the same document was parsed again")
	}
	if b, _ := c.get("b", doc2); b == a || b.match("x", "PUT", nil) == nil {
		t.Fatal("a changed document was not parsed again")
	}
	for i := range 2 * corsCacheSize {
		if _, err := c.get(fmt.Sprint("bucket", i), doc1); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(c.entries); n > corsCacheSize {
		t.Fatalf("cache holds %d entries, more than %d", n, corsCacheSize)
	}
	// Large documents: bounded by bytes too.
	big := make([]string, maxCORSRules)
	for i := range big {
		big[i] = `<AllowedOrigin>https://` + strings.Repeat("a", 600) + `.example</AllowedOrigin><AllowedMethod>GET</AllowedMethod>`
	}
	bigDoc := corsXML(big...)
	for i := range 2 * corsCacheBytes / len(bigDoc) {
		if _, err := c.get(fmt.Sprint("big", i), bigDoc); err != nil {
			t.Fatal(err)
		}
	}
	sum := 0
	for _, e := range c.entries {
		sum += len(e.doc)
	}
	if sum != c.bytes || sum > corsCacheBytes {
		t.Fatalf("cache holds %d document bytes (counted %d), bound %d", sum, c.bytes, corsCacheBytes)
	}
	if _, err := c.get("bad", []byte("<x/>")); err == nil {
		t.Fatal("an invalid document was accepted")
	}
}
