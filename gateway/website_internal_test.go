package gateway

import (
	"fmt"
	"strings"
	"testing"

	"github.com/lambda/storagecli/gateway/s3err"
)

func websiteXML(inner string) []byte {
	return []byte(`<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + inner + `</WebsiteConfiguration>`)
}

const idx = `<IndexDocument><Suffix>index.html</Suffix></IndexDocument>`

func rulesXML(rules ...string) string {
	return "<RoutingRules><RoutingRule>" + strings.Join(rules, "</RoutingRule><RoutingRule>") + "</RoutingRule></RoutingRules>"
}

// TestParseWebsite: PutBucketWebsite's validation, with AWS's codes and
// messages.
func TestParseWebsite(t *testing.T) {
	many := make([]string, 51)
	for i := range many {
		many[i] = `<Redirect><HostName>example.com</HostName></Redirect>`
	}
	cases := []struct {
		name, doc string
		code, msg string // "" code: accepted
	}{
		{"index only", idx, "", ""},
		{"index and error", idx + `<ErrorDocument><Key>err/404.html</Key></ErrorDocument>`, "", ""},
		{"redirect all", `<RedirectAllRequestsTo><HostName>example.com</HostName><Protocol>https</Protocol></RedirectAllRequestsTo>`, "", ""},
		{"rules", idx + rulesXML(
			`<Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect>`,
			`<Condition><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>example.com</HostName><HttpRedirectCode>302</HttpRedirectCode><Protocol>https</Protocol></Redirect>`,
			`<Redirect><ReplaceKeyWith>moved.html</ReplaceKeyWith></Redirect>`), "", ""},
		{"not xml", `<IndexDocument>`, "MalformedXML", ""},
		{"unknown element", idx + `<IndexDocuments><Suffix>a</Suffix></IndexDocuments>`, "MalformedXML", ""},
		{"unknown in index", `<IndexDocument><Suffix>index.html</Suffix><Prefix>x</Prefix></IndexDocument>`, "MalformedXML", ""},
		{"unknown in redirect", idx + rulesXML(`<Redirect><Hostname>x</Hostname></Redirect>`), "MalformedXML", ""},
		{"unknown in condition", idx + rulesXML(`<Condition><KeyPrefix>x</KeyPrefix></Condition><Redirect><HostName>x</HostName></Redirect>`), "MalformedXML", ""},
		{"empty", ``, "InvalidArgument", "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty"},
		{"error without index", `<ErrorDocument><Key>e.html</Key></ErrorDocument>`, "InvalidArgument", "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty"},
		{"empty suffix", `<IndexDocument><Suffix></Suffix></IndexDocument>`, "InvalidArgument", "The IndexDocument Suffix is not well formed"},
		{"suffix with slash", `<IndexDocument><Suffix>a/index.html</Suffix></IndexDocument>`, "InvalidArgument", "The IndexDocument Suffix is not well formed"},
		{"empty error key", idx + `<ErrorDocument><Key></Key></ErrorDocument>`, "InvalidArgument", "The ErrorDocument Key is not well formed"},
		{"redirect all and index", idx + `<RedirectAllRequestsTo><HostName>example.com</HostName></RedirectAllRequestsTo>`, "InvalidArgument", "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules."},
		{"redirect all without host", `<RedirectAllRequestsTo><Protocol>https</Protocol></RedirectAllRequestsTo>`, "MalformedXML", ""},
		{"redirect all bad protocol", `<RedirectAllRequestsTo><HostName>example.com</HostName><Protocol>ftp</Protocol></RedirectAllRequestsTo>`, "InvalidRequest", "Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically."},
		{"empty rules", idx + `<RoutingRules></RoutingRules>`, "MalformedXML", ""},
		{"too many rules", idx + rulesXML(many...), "InvalidRequest", "51 routing rules provided, the number of routing rules in a website configuration is limited to 50."},
		{"rule without redirect", idx + rulesXML(`<Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition>`), "MalformedXML", ""},
		{"empty condition", idx + rulesXML(`<Condition></Condition><Redirect><HostName>x</HostName></Redirect>`), "InvalidRequest", "Condition cannot be empty. To redirect all requests without a condition, the condition element shouldn't be present."},
		{"both replacements", idx + rulesXML(`<Redirect><ReplaceKeyWith>a</ReplaceKeyWith><ReplaceKeyPrefixWith>b/</ReplaceKeyPrefixWith></Redirect>`), "InvalidRequest", "You can only define ReplaceKeyPrefix or ReplaceKey but not both."},
		{"redirect code 300", idx + rulesXML(`<Redirect><HttpRedirectCode>300</HttpRedirectCode></Redirect>`), "InvalidRequest", "The provided HTTP redirect code (300) is not valid. Valid codes are 3XX except 300."},
		{"redirect code 200", idx + rulesXML(`<Redirect><HttpRedirectCode>200</HttpRedirectCode></Redirect>`), "InvalidRequest", "The provided HTTP redirect code (200) is not valid. Valid codes are 3XX except 300."},
		{"redirect code text", idx + rulesXML(`<Redirect><HttpRedirectCode>moved</HttpRedirectCode></Redirect>`), "MalformedXML", ""},
		{"redirect code 306", idx + rulesXML(`<Redirect><HttpRedirectCode>306</HttpRedirectCode></Redirect>`), "InvalidRequest", "The provided HTTP redirect code (306) is not valid. Valid codes are 3XX except 300."},
		{"redirect code 309", idx + rulesXML(`<Redirect><HttpRedirectCode>309</HttpRedirectCode></Redirect>`), "InvalidRequest", "The provided HTTP redirect code (309) is not valid. Valid codes are 3XX except 300."},
		{"empty redirect", idx + rulesXML(`<Condition><KeyPrefixEquals>a</KeyPrefixEquals></Condition><Redirect></Redirect>`), "MalformedXML", ""},
		{"error code 418", idx + rulesXML(`<Condition><HttpErrorCodeReturnedEquals>418</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>x</HostName></Redirect>`), "InvalidRequest", "The provided HTTP error code (418) is not valid. Valid codes are 4XX or 5XX."},
		{"error code 506", idx + rulesXML(`<Condition><HttpErrorCodeReturnedEquals>506</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>x</HostName></Redirect>`), "InvalidRequest", "The provided HTTP error code (506) is not valid. Valid codes are 4XX or 5XX."},
		{"error code 302", idx + rulesXML(`<Condition><HttpErrorCodeReturnedEquals>302</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>x</HostName></Redirect>`), "InvalidRequest", "The provided HTTP error code (302) is not valid. Valid codes are 4XX or 5XX."},
		{"rule bad protocol", idx + rulesXML(`<Redirect><Protocol>gopher</Protocol></Redirect>`), "InvalidRequest", "Invalid protocol, protocol can be http or https. If not defined the protocol will be selected automatically."},
	}
	for _, c := range cases {
		doc := websiteXML(c.doc)
		if c.name == "not xml" {
			doc = []byte(c.doc)
		}
		_, err := parseWebsite(doc)
		if c.code == "" {
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
			}
			continue
		}
		e := s3err.As(err)
		if e == nil || e.Code != c.code || c.msg != "" && e.Message != c.msg {
			t.Errorf("%s: %v, want %s %q", c.name, err, c.code, c.msg)
		}
	}
}

// TestRoutingRuleMatch: which rule applies, and where it redirects.
func TestRoutingRuleMatch(t *testing.T) {
	c, err := parseWebsite(websiteXML(idx + rulesXML(
		`<Condition><KeyPrefixEquals>docs/</KeyPrefixEquals></Condition><Redirect><ReplaceKeyPrefixWith>documents/</ReplaceKeyPrefixWith></Redirect>`,
		`<Condition><KeyPrefixEquals>old/</KeyPrefixEquals></Condition><Redirect><HostName>new.example</HostName><Protocol>https</Protocol><ReplaceKeyPrefixWith></ReplaceKeyPrefixWith><HttpRedirectCode>302</HttpRedirectCode></Redirect>`,
		`<Condition><KeyPrefixEquals>img/</KeyPrefixEquals><HttpErrorCodeReturnedEquals>404</HttpErrorCodeReturnedEquals></Condition><Redirect><ReplaceKeyWith>img/missing.png</ReplaceKeyWith><HttpRedirectCode>307</HttpRedirectCode></Redirect>`,
		`<Condition><HttpErrorCodeReturnedEquals>403</HttpErrorCodeReturnedEquals></Condition><Redirect><HostName>login.example</HostName></Redirect>`,
	)))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		key    string
		status int
		code   int
		loc    string // "" no rule
	}{
		{"docs/a b.html", 0, 301, "http://site.example/documents/a%20b.html"},
		{"docs/", 0, 301, "http://site.example/documents/"},
		{"docs", 0, 0, ""},
		{"old/x/y", 0, 302, "https://new.example/x/y"},
		{"img/a.png", 0, 0, ""},
		{"img/a.png", 404, 307, "http://site.example/img/missing.png"},
		{"css/a.css", 404, 0, ""},
		{"css/a.css", 403, 301, "http://login.example/css/a.css"},
		{"docs/a", 404, 0, ""}, // prefix-only rules apply before the lookup
	}
	for _, tc := range cases {
		r := c.match(tc.key, tc.status)
		name := fmt.Sprintf("%q status %d", tc.key, tc.status)
		if tc.loc == "" {
			if r != nil {
				t.Errorf("%s: matched %+v", name, r)
			}
			continue
		}
		if r == nil {
			t.Errorf("%s: no rule", name)
			continue
		}
		code, loc := r.Redirect.target(r.Condition, tc.key, "site.example", "http")
		if code != tc.code || loc != tc.loc {
			t.Errorf("%s: %d %s, want %d %s", name, code, loc, tc.code, tc.loc)
		}
	}
	// A rule without a condition applies to every request, first.
	all, err := parseWebsite(websiteXML(idx + rulesXML(`<Redirect><HostName>elsewhere.example</HostName></Redirect>`)))
	if err != nil {
		t.Fatal(err)
	}
	if r := all.match("anything", 0); r == nil {
		t.Error("an unconditional rule did not match")
	} else if _, loc := r.Redirect.target(r.Condition, "anything", "site.example", "https"); loc != "https://elsewhere.example/anything" {
		t.Errorf("unconditional: %s", loc)
	}
}
