package gateway

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// reflectListXML is the body writeXML (encoding/xml) produces for res: the
// reference appendXML must match byte for byte.
func reflectListXML(t testing.TB, res *listBucketResult) []byte {
	rec := httptest.NewRecorder()
	writeXML(rec, http.StatusOK, *res)
	return rec.Body.Bytes()
}

// checkListXML fails t unless appendXML and encoding/xml agree on res.
func checkListXML(t testing.TB, res *listBucketResult) {
	t.Helper()
	want := reflectListXML(t, res)
	got := replaceCharRefs(res.appendXML(nil))
	if !bytes.Equal(got, want) {
		t.Fatalf("appendXML differs from encoding/xml\n got: %q\nwant: %q", got, want)
	}
}

// charRef is a character reference appendXML writes.
var charRef = regexp.MustCompile(`&#x([0-9A-F]+);`)

// replaceCharRefs replaces the references to characters outside XML's Char
// production in b with U+FFFD, as encoding/xml writes those characters.
func replaceCharRefs(b []byte) []byte {
	return charRef.ReplaceAllFunc(b, func(ref []byte) []byte {
		r, err := strconv.ParseUint(string(charRef.FindSubmatch(ref)[1]), 16, 32)
		if err != nil || isXMLChar(rune(r)) {
			return ref
		}
		return []byte("\uFFFD")
	})
}

// TestListXMLCharRefs: characters XML 1.0 cannot carry are written as
// character references, as S3 does, not replaced.
func TestListXMLCharRefs(t *testing.T) {
	for in, want := range map[string]string{
		"\x01":         "&#x1;",
		"a\x1fb\x7f":   "a&#x1F;b\x7f",
		"\x00\t\n\r":   "&#x0;&#x9;&#xA;&#xD;",
		"\uFFFE\uFFFF": "&#xFFFE;&#xFFFF;",
		"\xff":         "\uFFFD",
		"é\x0b&":       "é&#xB;&amp;",
	} {
		if got := string(appendEscaped(nil, in)); got != want {
			t.Errorf("appendEscaped(%q) = %q, want %q", in, got, want)
		}
	}
}

// listXMLStrings are texts that exercise every escaping rule of encoding/xml.
var listXMLStrings = []string{
	"",
	"plain/key.txt",
	`&<>"'`,
	"a&b<c>d\"e'f",
	"tab\there", "new\nline", "car\rriage", "\r\n\t",
	"\x00", "\x01a\x1f", "\x7f", "del\x7f\x00",
	"\xff", "a\xfeb", "\xc3", "trunc\xe2\x82", "\xc0\x80", // invalid UTF-8
	"\xed\xa0\x80\xed\xbf\xbf",               // UTF-16 surrogates encoded as UTF-8
	"\uFFFD", "\xef\xbf\xbe", "\xef\xbf\xbf", // U+FFFD is kept; U+FFFE and U+FFFF are not
	"\U0010FFFF", "\xf4\x90\x80\x80", "\U00010000", "\uD7FF\uE000",
	"\u0085\u2028\u00a0", "日本語/ключ/🙂", "]]>", "<![CDATA[x]]>", "&amp;",
	s3URLEncode("a b/c&d<e>\"'\t\n\x00\xff日本"), s3URLEncode("100%+/=?#"),
	"0001-01-01T00:00:00.000Z", timeISO(time.Time{}), timeISO(time.Unix(1<<33, 999e6)),
	`"d41d8cd98f00b204e9800998ecf8427e"`, `"d41d8cd98f00b204e9800998ecf8427e-12"`,
	strings.Repeat("k", 1024), strings.Repeat("&\x00é", 300),
}

func ptr[T any](v T) *T { return &v }

// TestListXMLTable compares appendXML with encoding/xml on hand-picked
// results: empty, V1 and V2 shapes, owners, prefixes and extreme numbers.
func TestListXMLTable(t *testing.T) {
	own := &owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "webfile"}
	entry := func(key string, size int64, o *owner) objectEntry {
		return objectEntry{Key: key, LastModified: "2024-05-01T10:11:12.345Z", ETag: `"0123456789abcdef0123456789abcdef"`,
			Size: size, StorageClass: "STANDARD", Owner: o}
	}
	cases := map[string]listBucketResult{
		"zero":            {},
		"empty":           {NS: s3NS, Name: "bucket", MaxKeys: 1000},
		"xmlname ignored": {XMLName: xml.Name{Space: "urn:x", Local: "Other"}, NS: s3NS, Name: "b"},
		"v1": {NS: s3NS, Name: "bucket", Prefix: "p/", Marker: ptr(""), MaxKeys: 2, Delimiter: "/", IsTruncated: true,
			NextMarker: "p/b", Contents: []objectEntry{entry("p/a", 1, own), entry("p/b", 0, own)},
			CommonPrefixes: []commonPrefix{{"p/c/"}, {"p/d/"}}},
		"v1 marker": {NS: s3NS, Name: "bucket", Marker: ptr("m&<>"), MaxKeys: 1000},
		"v2": {NS: s3NS, Name: "bucket", ContinuationToken: ptr("djE6YQ"), NextContinuationToken: "djE6Yg",
			StartAfter: "a", KeyCount: ptr(3), MaxKeys: 3, IsTruncated: true,
			Contents: []objectEntry{entry("b", 10, nil), entry("c", 20, nil), entry("d", 30, own)}},
		"v2 zero keycount":  {NS: s3NS, Name: "bucket", KeyCount: ptr(0), MaxKeys: 0},
		"v2 url encoding":   {NS: s3NS, Name: "bucket", EncodingType: "url", KeyCount: ptr(1), Prefix: s3URLEncode("a b/"), Contents: []objectEntry{entry(s3URLEncode("a b/&c\x00"), 5, nil)}},
		"only prefixes":     {NS: s3NS, Name: "b", Delimiter: "/", CommonPrefixes: []commonPrefix{{""}, {"x/"}, {"\xff<&>/"}}},
		"empty owner":       {Contents: []objectEntry{{Owner: &owner{}}}},
		"empty entry":       {Contents: []objectEntry{{}}},
		"checksums":         {Contents: []objectEntry{{Key: "k", ChecksumAlgorithm: "CRC64NVME", ChecksumType: "FULL_OBJECT"}, {Key: "k2", ChecksumType: "COMPOSITE"}}},
		"huge numbers":      {KeyCount: ptr(math.MaxInt), MaxKeys: math.MinInt, Contents: []objectEntry{entry("a", math.MaxInt64, nil), entry("b", math.MinInt64, nil), entry("c", -1, nil)}},
		"empty slices":      {Contents: []objectEntry{}, CommonPrefixes: []commonPrefix{}},
		"special namespace": {NS: "a\"b&c\n\x00"},
	}
	for i, s := range listXMLStrings {
		o := &owner{ID: s, DisplayName: s}
		cases[fmt.Sprintf("string %d %.20q", i, s)] = listBucketResult{NS: s, Name: s, Prefix: s, Marker: &s,
			NextMarker: s, ContinuationToken: &s, NextContinuationToken: s, StartAfter: s, Delimiter: s, EncodingType: s,
			Contents:       []objectEntry{{Key: s, LastModified: s, ETag: s, StorageClass: s, Owner: o, ChecksumAlgorithm: s, ChecksumType: s}},
			CommonPrefixes: []commonPrefix{{s}}}
	}
	for name, res := range cases {
		t.Run(name, func(t *testing.T) { checkListXML(t, &res) })
	}
}

// fillValue sets every field reachable from v to a non-zero value (strings
// to s plus the field's name), so that a field added to the listing types
// but not to appendXML shows up as a difference.
func fillValue(v reflect.Value, s string) {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Int, reflect.Int64:
		v.SetInt(7)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fillValue(v.Elem(), s)
	case reflect.Slice:
		v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		for i := range 2 {
			fillValue(v.Index(i), fmt.Sprint(s, i))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if f := v.Type().Field(i); f.IsExported() {
				fillValue(v.Field(i), s+f.Name)
			}
		}
	default:
		panic("fillValue: unhandled kind " + v.Kind().String())
	}
}

// TestListXMLAllFields guards against the listing types gaining a field that
// appendXML does not know of.
func TestListXMLAllFields(t *testing.T) {
	var res listBucketResult
	fillValue(reflect.ValueOf(&res).Elem(), "v&")
	res.XMLName = xml.Name{}
	checkListXML(t, &res)
}

// TestListXMLRandomStrings compares the encoders on many pseudo-random
// strings mixing ASCII, markup, control bytes, stray UTF-8 bytes and
// multi-byte characters at the edges of XML's character range.
func TestListXMLRandomStrings(t *testing.T) {
	pieces := []string{"a", "/", " ", "&", "<", ">", `"`, "'", "\t", "\n", "\r", "\x00", "\x1f", "\x7f",
		"\x80", "\xbf", "\xc2", "\xe2\x82", "\xed\xa0\x80", "\xf4\x90", "\xff", "é", "\uFFFD", "\uFFFC",
		"\xef\xbf\xbe", "\xef\xbf\xbf", "\U0010FFFF", "😀", "\u00a0"}
	rng := rand.New(rand.NewPCG(1, 2))
	str := func() string {
		var sb strings.Builder
		for range rng.IntN(12) {
			if rng.IntN(4) == 0 {
				sb.WriteByte(byte(rng.IntN(256)))
			} else {
				sb.WriteString(pieces[rng.IntN(len(pieces))])
			}
		}
		return sb.String()
	}
	for range 3000 {
		m := str()
		res := listBucketResult{NS: str(), Name: str(), Prefix: str(), Marker: &m, StartAfter: str(),
			Contents:       []objectEntry{{Key: str(), ETag: str(), Owner: &owner{ID: str(), DisplayName: str()}}},
			CommonPrefixes: []commonPrefix{{str()}}}
		checkListXML(t, &res)
	}
}

// FuzzListXML checks that appendXML and encoding/xml agree on arbitrary
// keys, prefixes, ETags, tokens and numbers.
func FuzzListXML(f *testing.F) {
	for _, s := range listXMLStrings {
		f.Add(s, s, s, s, int64(len(s)), len(s), uint8(len(s)))
	}
	f.Add("k", "p/", `"etag"`, "", int64(math.MaxInt64), -1, uint8(0xff))
	f.Fuzz(func(t *testing.T, key, prefix, etag, token string, size int64, n int, flags uint8) {
		res := listBucketResult{NS: s3NS, Name: "bucket", Prefix: prefix, MaxKeys: n,
			ContinuationToken: &token, NextMarker: key, Delimiter: token, IsTruncated: flags&1 != 0,
			Contents: []objectEntry{{Key: key, LastModified: token, ETag: etag, Size: size, StorageClass: prefix,
				ChecksumAlgorithm: etag, ChecksumType: key}},
			CommonPrefixes: []commonPrefix{{prefix}, {key}}}
		if flags&2 != 0 {
			res.Marker = &key
		}
		if flags&4 != 0 {
			res.KeyCount = &n
		}
		if flags&8 != 0 {
			res.Contents[0].Owner = &owner{ID: etag, DisplayName: token}
		}
		if flags&16 != 0 {
			res.Contents = append(res.Contents, objectEntry{Key: prefix})
		}
		checkListXML(t, &res)
	})
}

// TestListXMLResponse checks the headers, status and body writeListXML sends.
func TestListXMLResponse(t *testing.T) {
	res := listBucketResult{NS: s3NS, Name: "b", KeyCount: ptr(1), MaxKeys: 1000,
		Contents: []objectEntry{{Key: "k&", ETag: `"e"`, StorageClass: "STANDARD"}}}
	for range 3 { // the second and later rounds reuse a pooled buffer
		rec := httptest.NewRecorder()
		writeListXML(rec, &res)
		want := reflectListXML(t, &res)
		if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/xml" ||
			rec.Header().Get("Content-Length") != fmt.Sprint(len(want)) || !bytes.Equal(rec.Body.Bytes(), want) {
			t.Fatalf("got %d %v %q, want 200 application/xml %d bytes %q", rec.Code, rec.Header(), rec.Body.Bytes(), len(want), want)
		}
	}
}

// benchListPage is a typical full V1 page: 1000 keys with owners.
func benchListPage() *listBucketResult {
	own := &owner{ID: "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a", DisplayName: "webfile"}
	res := &listBucketResult{NS: s3NS, Name: "photos", Prefix: "2024/", Marker: ptr(""), MaxKeys: 1000, IsTruncated: true}
	for i := range 1000 {
		res.Contents = append(res.Contents, objectEntry{Key: fmt.Sprintf("2024/%02d/IMG_%06d.jpg", i%12+1, i),
			LastModified: timeISO(time.Unix(1714557072+int64(i), 0)), ETag: fmt.Sprintf(`"%032x"`, i*7919),
			Size: int64(1<<20 + i), StorageClass: "STANDARD", Owner: own})
	}
	return res
}

// discardWriter is an http.ResponseWriter that throws the body away.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (d discardWriter) WriteHeader(int)             {}

// BenchmarkListXML compares writing a 1000-key page with encoding/xml
// (writeXML) and with the hand-written encoder (writeListXML).
func BenchmarkListXML(b *testing.B) {
	res := benchListPage()
	size := int64(len(res.appendXML(nil)))
	w := discardWriter{h: http.Header{}}
	b.Run("encoding-xml", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			writeXML(w, http.StatusOK, *res)
		}
	})
	b.Run("appendXML", func(b *testing.B) {
		b.SetBytes(size)
		b.ReportAllocs()
		for b.Loop() {
			writeListXML(w, res)
		}
	})
}
