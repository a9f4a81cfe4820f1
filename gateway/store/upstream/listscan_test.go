package upstream

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// Listing answers as upstreams write them (MinIO, AWS, Ceph RGW shapes)
// and odd ones: scanListV2 must decode each as encoding/xml does, or give
// up (ok false) where the table says so.
var listDocs = []struct {
	name string
	doc  string
	scan bool // scanListV2 decodes it (else it gives up)
}{
	{"MinIO", `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>up</Name><Prefix>P%2Fb..</Prefix><StartAfter>P%2Fb..k0009</StartAfter><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><Delimiter>..</Delimiter><IsTruncated>true</IsTruncated><Contents><Key>P%2Fb..k0010</Key><LastModified>2026-11-24T20:26:23.123Z</LastModified><ETag>&#34;d41d8cd98f00b204e9800998ecf8427e&#34;</ETag><Size>0</Size><Owner><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>minio</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents><Contents><Key>P%2Fb..k%2B1+x</Key><LastModified>2026-11-24T20:26:24Z</LastModified><ETag>&quot;9e107d9d372bb6826bd81d3542a419d6-3&quot;</ETag><Size>52428800</Size><ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType><StorageClass>STANDARD</StorageClass></Contents><CommonPrefixes><Prefix>P%2Fb..d..</Prefix></CommonPrefixes><EncodingType>url</EncodingType><NextContinuationToken>abc</NextContinuationToken></ListBucketResult>`, true},
	{"AWS indented", `<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
    <Name>bucket</Name>
    <Prefix/>
    <KeyCount>1</KeyCount>
    <MaxKeys>1000</MaxKeys>
    <EncodingType>url</EncodingType>
    <IsTruncated>false</IsTruncated>
    <Contents>
        <Key>a%20b%26c</Key>
        <LastModified>2009-10-12T17:50:30.000Z</LastModified>
        <ETag>"fba9dede5f27731c9771645a39863328"</ETag>
        <ChecksumAlgorithm>CRC32</ChecksumAlgorithm>
        <Size>434234</Size>
        <StorageClass>STANDARD</StorageClass>
        <RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress></RestoreStatus>
    </Contents>
</ListBucketResult>
`, true},
	{"empty listing", `<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>`, true},
	{"no encoding type", `<ListBucketResult><Contents><Key>a&amp;b&lt;c&gt;&apos;&#x41;&#66;é</Key><Size> 7 </Size></Contents></ListBucketResult>`, true},
	{"self-closing entries", `<ListBucketResult><Contents/><CommonPrefixes/><Contents><Key/><Size></Size></Contents></ListBucketResult>`, true},
	{"end tag with space", `<ListBucketResult><Contents><Key>k</Key ></Contents ></ListBucketResult >`, true},
	{"comment", `<ListBucketResult><!-- x --><Contents><Key>k</Key></Contents></ListBucketResult>`, false},
	{"CDATA", `<ListBucketResult><Contents><Key><![CDATA[k]]></Key></Contents></ListBucketResult>`, false},
	{"namespace prefix", `<s3:ListBucketResult xmlns:s3="x"><s3:Contents><s3:Key>k</s3:Key></s3:Contents></s3:ListBucketResult>`, false},
	{"carriage return", "<ListBucketResult><Contents><Key>a\r\nb</Key></Contents></ListBucketResult>", false},
	{"key twice", `<ListBucketResult><Contents><Key>a</Key><Key>b</Key></Contents></ListBucketResult>`, false},
	{"other encoding declared", `<?xml version="1.0" encoding="ISO-8859-1"?><ListBucketResult></ListBucketResult>`, false},
	{"unknown entity", `<ListBucketResult><Contents><Key>&nbsp;</Key></Contents></ListBucketResult>`, false},
	{"bad size", `<ListBucketResult><Contents><Size>x</Size></Contents></ListBucketResult>`, false},
	{"bad time", `<ListBucketResult><Contents><LastModified>yesterday</LastModified></Contents></ListBucketResult>`, false},
	{"other root", `<Error><Code>AccessDenied</Code></Error>`, false},
	{"truncated document", `<ListBucketResult><Contents><Key>k</Key>`, false},
	{"mismatched nesting", `<ListBucketResult><Owner><ID>x</Owner></ID></ListBucketResult>`, false},
}

func TestScanListV2(t *testing.T) {
	for _, c := range listDocs {
		t.Run(c.name, func(t *testing.T) {
			got, gotEnc, ok := scanListV2([]byte(c.doc))
			if ok != c.scan {
				t.Fatalf("scanListV2 ok = %v, want %v", ok, c.scan)
			}
			want, wantEnc, err := decodeListV2([]byte(c.doc))
			if !ok {
				return
			}
			if err != nil {
				t.Fatalf("scanListV2 decoded a document encoding/xml refuses: %v", err)
			}
			if !reflect.DeepEqual(got, want) || gotEnc != wantEnc {
				t.Errorf("scanListV2 = %+v %q\nencoding/xml = %+v %q", got, gotEnc, want, wantEnc)
			}
		})
	}
}

func TestParseListV2(t *testing.T) {
	l, err := parseListV2([]byte(listDoc(t, "MinIO")))
	if err != nil {
		t.Fatal(err)
	}
	want := &listV2{
		Truncated: true,
		Contents: []listV2Object{
			{Key: "P/b..k0010", ETag: `"d41d8cd98f00b204e9800998ecf8427e"`, LastModified: time.Date(2026, 11, 24, 20, 26, 23, 123e6, time.UTC)},
			{Key: "P/b..k+1 x", ETag: `"9e107d9d372bb6826bd81d3542a419d6-3"`, Size: 52428800, LastModified: time.Date(2026, 11, 24, 20, 26, 24, 0, time.UTC)},
		},
		CommonPrefixes: []string{"P/b..d.."},
	}
	if !reflect.DeepEqual(l, want) {
		t.Errorf("parseListV2 = %+v, want %+v", l, want)
	}
	// Documents scanListV2 gives up on are decoded by encoding/xml.
	l, err = parseListV2([]byte(listDoc(t, "comment")))
	if err != nil || len(l.Contents) != 1 || l.Contents[0].Key != "k" {
		t.Errorf("parseListV2 of a document with a comment = %+v, %v", l, err)
	}
	for _, doc := range []string{
		`<Error><Code>AccessDenied</Code></Error>`,
		// Deeper than any S3 answer: not given to encoding/xml either.
		`<ListBucketResult><!-- -->` + strings.Repeat("<a>", maxScanDepth+1) + strings.Repeat("</a>", maxScanDepth+1) + `</ListBucketResult>`,
		`<ListBucketResult><EncodingType>base64</EncodingType></ListBucketResult>`,
		`<ListBucketResult><EncodingType>url</EncodingType><Contents><Key>%zz</Key></Contents></ListBucketResult>`,
	} {
		if l, err := parseListV2([]byte(doc)); err == nil {
			t.Errorf("parseListV2(%s) = %+v, want an error", doc, l)
		}
	}
}

// listDoc is the document of listDocs named name.
func listDoc(t *testing.T, name string) string {
	for _, c := range listDocs {
		if c.name == name {
			return c.doc
		}
	}
	t.Fatalf("no listDocs entry %q", name)
	return ""
}

func TestNestingDepth(t *testing.T) {
	for _, c := range []struct {
		doc  string
		want int
	}{
		{`<a><b>x</b><c/><d k="/>">y</d></a>`, 2},
		{`<?xml version="1.0"?><!-- <a><a> --><a><![CDATA[</a></a><b>]]><b></b></a>`, 2},
		{`<a k='>'><b/></a>`, 2},
		{strings.Repeat("<a>", 40), 40},
		{`<a` + strings.Repeat(`"`, 3), 1},
	} {
		if got := nestingDepth([]byte(c.doc)); got != c.want {
			t.Errorf("nestingDepth(%s) = %d, want %d", c.doc, got, c.want)
		}
	}
}

// FuzzScanListV2 checks that whatever scanListV2 decodes, encoding/xml
// decodes the same way.
func FuzzScanListV2(f *testing.F) {
	for _, c := range listDocs {
		f.Add(c.doc)
	}
	f.Add(strings.Repeat("<Contents><Key>k</Key></Contents>", 3))
	f.Fuzz(func(t *testing.T, doc string) {
		got, gotEnc, ok := scanListV2([]byte(doc))
		if !ok {
			return
		}
		want, wantEnc, err := decodeListV2([]byte(doc))
		if err != nil {
			t.Fatalf("scanListV2 decoded %q, encoding/xml refuses it: %v", doc, err)
		}
		if !reflect.DeepEqual(got, want) || gotEnc != wantEnc {
			t.Fatalf("%q:\nscanListV2 = %+v %q\nencoding/xml = %+v %q", doc, got, gotEnc, want, wantEnc)
		}
	})
}

// BenchmarkParseListV2 compares the scanner with encoding/xml on a page
// of 1000 entries as MinIO writes it.
func BenchmarkParseListV2(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>up</Name><Prefix>P%2Fb..list-100000..</Prefix><KeyCount>1000</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>`)
	for i := range 1000 {
		sb.WriteString(`<Contents><Key>P%2Fb..list-100000..s3bench-0000` + strings.Repeat("x", i%7) + `</Key><LastModified>2026-11-24T20:26:23.123Z</LastModified><ETag>&#34;d41d8cd98f00b204e9800998ecf8427e&#34;</ETag><Size>0</Size><Owner><ID>02d6176db174dc93cb1b899f7c6078f08654445fe8cf1b6ce98d8855f66bdbf4</ID><DisplayName>minio</DisplayName></Owner><StorageClass>STANDARD</StorageClass></Contents>`)
	}
	sb.WriteString(`<EncodingType>url</EncodingType></ListBucketResult>`)
	doc := []byte(sb.String())
	b.Run("scan", func(b *testing.B) {
		for b.Loop() {
			if _, _, ok := scanListV2(doc); !ok {
				b.Fatal("not scanned")
			}
		}
	})
	b.Run("encoding/xml", func(b *testing.B) {
		for b.Loop() {
			if _, _, err := decodeListV2(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
