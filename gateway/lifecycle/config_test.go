package lifecycle

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lambda/storagecli/gateway/s3err"
)

func doc(rules ...string) []byte {
	return []byte(`<LifecycleConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` + strings.Join(rules, "") + `</LifecycleConfiguration>`)
}

func TestParseValidation(t *testing.T) {
	many := make([]string, MaxRules+1)
	for i := range many {
		many[i] = fmt.Sprintf(`<Rule><ID>r%d</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`, i)
	}
	for _, c := range []struct {
		name, doc, code string
	}{
		{"not xml", "<LifecycleConfiguration>", "MalformedXML"},
		{"no rules", string(doc()), "MalformedXML"},
		{"too many rules", string(doc(many...)), "InvalidArgument"},
		{"bad status", string(doc(`<Rule><Filter/><Status>On</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "MalformedXML"},
		{"no filter", string(doc(`<Rule><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "MalformedXML"},
		{"filter and prefix", string(doc(`<Rule><Prefix>a</Prefix><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "MalformedXML"},
		{"no action", string(doc(`<Rule><Filter/><Status>Enabled</Status></Rule>`)), "InvalidRequest"},
		{"zero days", string(doc(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>0</Days></Expiration></Rule>`)), "InvalidArgument"},
		{"days and date", string(doc(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>`)), "MalformedXML"},
		{"date not midnight", string(doc(`<Rule><Filter/><Status>Enabled</Status><Expiration><Date>2030-01-01T10:00:00Z</Date></Expiration></Rule>`)), "InvalidArgument"},
		{"date not a date", string(doc(`<Rule><Filter/><Status>Enabled</Status><Expiration><Date>tomorrow</Date></Expiration></Rule>`)), "InvalidArgument"},
		{"id too long", string(doc(`<Rule><ID>` + strings.Repeat("i", 256) + `</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "InvalidArgument"},
		{"duplicate ids", string(doc(`<Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`,
			`<Rule><ID>x</ID><Filter/><Status>Enabled</Status><Expiration><Days>2</Days></Expiration></Rule>`)), "InvalidArgument"},
		{"two predicates", string(doc(`<Rule><Filter><Prefix>a</Prefix><ObjectSizeLessThan>5</ObjectSizeLessThan></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "MalformedXML"},
		{"sizes crossed", string(doc(`<Rule><Filter><And><ObjectSizeGreaterThan>9</ObjectSizeGreaterThan><ObjectSizeLessThan>5</ObjectSizeLessThan></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "InvalidArgument"},
		{"duplicate tag keys", string(doc(`<Rule><Filter><And><Tag><Key>k</Key><Value>1</Value></Tag><Tag><Key>k</Key><Value>2</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "InvalidRequest"},
		{"marker with tags", string(doc(`<Rule><Filter><Tag><Key>k</Key><Value>1</Value></Tag></Filter><Status>Enabled</Status><Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>`)), "InvalidRequest"},
		{"abort with tags", string(doc(`<Rule><Filter><Tag><Key>k</Key><Value>1</Value></Tag></Filter><Status>Enabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>1</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)), "InvalidRequest"},
		{"noncurrent without days", string(doc(`<Rule><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NewerNoncurrentVersions>2</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`)), "InvalidArgument"},
		{"newer noncurrent over 100", string(doc(`<Rule><Filter/><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays><NewerNoncurrentVersions>101</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`)), "InvalidArgument"},
		{"transition", string(doc(`<Rule><Filter/><Status>Enabled</Status><Transition><Days>30</Days><StorageClass>GLACIER</StorageClass></Transition></Rule>`)), "NotImplemented"},
		{"noncurrent transition", string(doc(`<Rule><Filter/><Status>Enabled</Status><NoncurrentVersionTransition><NoncurrentDays>30</NoncurrentDays><StorageClass>GLACIER</StorageClass></NoncurrentVersionTransition></Rule>`)), "NotImplemented"},
		{"unknown element", string(doc(`<Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration><Frobnicate/></Rule>`)), "MalformedXML"},
		{"unknown filter element", string(doc(`<Rule><Filter><Suffix>.log</Suffix></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`)), "MalformedXML"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.doc))
			e := s3err.As(err)
			if e == nil || e.Code != c.code {
				t.Errorf("Parse: %v, want %s", err, c.code)
			}
		})
	}
}

func TestParseRoundTrip(t *testing.T) {
	in := doc(`<Rule><Filter><And><Prefix>logs/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag><ObjectSizeGreaterThan>10</ObjectSizeGreaterThan></And></Filter><Status>Enabled</Status><Expiration><Days>30</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays><NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>`,
		`<Rule><ID>uploads</ID><Prefix></Prefix><Status>Disabled</Status><AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule>`)
	c, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Rules[0].ID) != 32 {
		t.Errorf("a rule without ID got %q, want a generated one", c.Rules[0].ID)
	}
	again, err := Parse(c.Marshal())
	if err != nil {
		t.Fatalf("Parse(Marshal()): %v\n%s", err, c.Marshal())
	}
	if string(again.Marshal()) != string(c.Marshal()) {
		t.Errorf("round trip changed the document:\n%s\n%s", c.Marshal(), again.Marshal())
	}
	for _, want := range []string{"<Prefix>logs/</Prefix>", "<NewerNoncurrentVersions>3</NewerNoncurrentVersions>", "<ID>uploads</ID>", "<Prefix></Prefix>"} {
		if !strings.Contains(string(c.Marshal()), want) {
			t.Errorf("document lacks %s:\n%s", want, c.Marshal())
		}
	}
}

func TestMatchesAndExpiry(t *testing.T) {
	c, err := Parse(doc(
		`<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status><Expiration><Days>3</Days></Expiration></Rule>`,
		`<Rule><ID>tmp</ID><Filter><And><Prefix>logs/</Prefix><Tag><Key>tmp</Key><Value>yes</Value></Tag></And></Filter><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule>`,
		`<Rule><ID>big</ID><Filter><ObjectSizeGreaterThan>1000</ObjectSizeGreaterThan></Filter><Status>Enabled</Status><Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration></Rule>`,
		`<Rule><ID>off</ID><Filter/><Status>Disabled</Status><Expiration><Days>1</Days></Expiration></Rule>`))
	if err != nil {
		t.Fatal(err)
	}
	mtime := time.Date(2026, 5, 1, 15, 30, 0, 0, time.UTC)
	for _, tc := range []struct {
		o      Object
		day    time.Duration
		rule   string
		at     time.Time
		expire bool
	}{
		{Object{Key: "logs/a", Size: 10, MTime: mtime}, Day, "logs", time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC), true}, // rounded up to midnight
		{Object{Key: "logs/a", Size: 10, Tags: "tmp=yes&x=1", MTime: mtime}, Day, "tmp", time.Date(2026, 5, 3, 0, 0, 0, 0, time.UTC), true},
		{Object{Key: "logs/a", Size: 10, Tags: "tmp=no", MTime: mtime}, Day, "logs", time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC), true},
		{Object{Key: "logs/a", Size: 10, MTime: mtime}, 10 * time.Second, "logs", mtime.Add(30 * time.Second), true}, // a short day: exact
		{Object{Key: "data/a", Size: 5000, MTime: mtime}, Day, "big", time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{Object{Key: "data/a", Size: 1000, MTime: mtime}, Day, "", time.Time{}, false},
	} {
		at, rule, ok := c.Expiry(tc.o, tc.day)
		if ok != tc.expire || rule != tc.rule || !at.Equal(tc.at) {
			t.Errorf("Expiry(%+v, %v) = %v %q %v, want %v %q %v", tc.o, tc.day, at, rule, ok, tc.at, tc.rule, tc.expire)
		}
	}
	if got := HeaderValue(time.Date(2026, 5, 5, 0, 0, 0, 0, time.UTC), "logs"); got != `expiry-date="Tue, 05 May 2026 00:00:00 GMT", rule-id="logs"` {
		t.Errorf("HeaderValue = %s", got)
	}
}
