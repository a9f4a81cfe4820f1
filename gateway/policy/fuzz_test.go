package policy

import "testing"

// FuzzParse: any document is parsed or refused with an *Error, never a
// panic, and a parsed policy evaluates any request.
func FuzzParse(f *testing.F) {
	for _, seed := range []string{
		stmt(`{"Effect":"Allow","Principal":"*","Action":"s3:GetObject","Resource":"arn:aws:s3:::pub/*"}`),
		stmt(`{"Effect":"Deny","Principal":{"AWS":["AKRW","arn:aws:iam::o1:root"]},"NotAction":["s3:Get*"],"NotResource":"arn:aws:s3:::pub/a?c*","Condition":{"IpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]},"StringNotLike":{"aws:Referer":"*x*"},"Null":{"s3:prefix":"true"}}}`),
		`{"Statement":{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}}`,
		`{"Statement":[[]]}`, `[]`, `null`, `{"Statement":[{"Effect":"Allow","Principal":{"AWS":[]}}]}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, err := Parse(doc, opts)
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("error %T: %v", err, err)
			}
			return
		}
		for _, ak := range []string{"", "AKRW"} {
			p.Evaluate(&Request{AccessKey: ak, Actions: []string{"s3:GetObject"}, Resource: "arn:aws:s3:::pub/abc",
				Context: map[string][]string{"aws:sourceip": {"10.1.1.1"}, "aws:referer": {"https://x/"}, "s3:prefix": {""}}})
		}
		p.IsPublic()
		p.UsesObjectTags()
	})
}
