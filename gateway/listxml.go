package gateway

import (
	"encoding/xml"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// The ListObjects responses are the gateway's largest XML bodies (up to 1000
// entries a page), so they are encoded by hand rather than by encoding/xml's
// reflection. The output is byte for byte what
//
//	w.Write([]byte(xml.Header)); xml.NewEncoder(w).Encode(res)
//
// produces for a listBucketResult (listxml_test.go checks this): the same
// element order and omitempty rules as the struct tags, and the same escaping.
// A change to listBucketResult, objectEntry, owner or commonPrefix must be
// mirrored here.

// maxPooledListBuf is the capacity above which an encoding buffer is dropped
// rather than kept in listBufPool, so that one page of huge escaped keys does
// not pin megabytes for good.
const maxPooledListBuf = 1 << 20

// listBufPool holds encoding buffers for writeListXML.
var listBufPool = sync.Pool{New: func() any {
	b := make([]byte, 0, 64<<10)
	return &b
}}

// writeListXML writes res as a 200 application/xml response with a
// Content-Length, encoded by appendXML into a pooled buffer.
func writeListXML(w http.ResponseWriter, res *listBucketResult) {
	bp := listBufPool.Get().(*[]byte)
	b := res.appendXML((*bp)[:0])
	hdr := w.Header()
	hdr.Set("Content-Type", "application/xml")
	hdr.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
	if cap(b) <= maxPooledListBuf {
		*bp = b[:0]
		listBufPool.Put(bp)
	}
}

// appendXML appends to b the XML document for r: xml.Header followed by the
// ListBucketResult element, as encoding/xml would encode it.
func (r *listBucketResult) appendXML(b []byte) []byte {
	b = append(b, xml.Header...)
	b = append(b, `<ListBucketResult xmlns="`...)
	b = appendEscaped(b, r.NS)
	b = append(b, `">`...)
	b = appendElem(b, "Name", r.Name)
	b = appendElem(b, "Prefix", r.Prefix)
	if r.Marker != nil {
		b = appendElem(b, "Marker", *r.Marker)
	}
	b = appendElemOmitEmpty(b, "NextMarker", r.NextMarker)
	if r.ContinuationToken != nil {
		b = appendElem(b, "ContinuationToken", *r.ContinuationToken)
	}
	b = appendElemOmitEmpty(b, "NextContinuationToken", r.NextContinuationToken)
	b = appendElemOmitEmpty(b, "StartAfter", r.StartAfter)
	if r.KeyCount != nil {
		b = appendIntElem(b, "KeyCount", int64(*r.KeyCount))
	}
	b = appendIntElem(b, "MaxKeys", int64(r.MaxKeys))
	b = appendElemOmitEmpty(b, "Delimiter", r.Delimiter)
	b = appendElemOmitEmpty(b, "EncodingType", r.EncodingType)
	b = append(b, "<IsTruncated>"...)
	b = strconv.AppendBool(b, r.IsTruncated)
	b = append(b, "</IsTruncated>"...)
	for i := range r.Contents {
		b = r.Contents[i].appendXML(b)
	}
	for _, p := range r.CommonPrefixes {
		b = append(b, "<CommonPrefixes>"...)
		b = appendElem(b, "Prefix", p.Prefix)
		b = append(b, "</CommonPrefixes>"...)
	}
	return append(b, "</ListBucketResult>"...)
}

// appendXML appends e to b as a Contents element.
func (e *objectEntry) appendXML(b []byte) []byte {
	b = append(b, "<Contents>"...)
	b = appendElem(b, "Key", e.Key)
	b = appendElem(b, "LastModified", e.LastModified)
	b = appendElem(b, "ETag", e.ETag)
	b = appendIntElem(b, "Size", e.Size)
	b = appendElem(b, "StorageClass", e.StorageClass)
	if e.Owner != nil {
		b = append(b, "<Owner>"...)
		b = appendElem(b, "ID", e.Owner.ID)
		b = appendElem(b, "DisplayName", e.Owner.DisplayName)
		b = append(b, "</Owner>"...)
	}
	b = appendElemOmitEmpty(b, "ChecksumAlgorithm", e.ChecksumAlgorithm)
	b = appendElemOmitEmpty(b, "ChecksumType", e.ChecksumType)
	return append(b, "</Contents>"...)
}

// appendElem appends <name>text</name> with text escaped.
func appendElem(b []byte, name, text string) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = appendEscaped(b, text)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendElemOmitEmpty is appendElem for an `xml:",omitempty"` string field:
// it appends nothing for an empty text.
func appendElemOmitEmpty(b []byte, name, text string) []byte {
	if text == "" {
		return b
	}
	return appendElem(b, name, text)
}

// appendIntElem appends <name>n</name> in decimal.
func appendIntElem(b []byte, name string, n int64) []byte {
	b = append(b, '<')
	b = append(b, name...)
	b = append(b, '>')
	b = strconv.AppendInt(b, n, 10)
	b = append(b, "</"...)
	b = append(b, name...)
	return append(b, '>')
}

// appendEscaped appends s escaped as encoding/xml escapes text and attribute
// values: the five markup characters as &#34; &#39; &amp; &lt; &gt;, tab,
// newline and carriage return as character references, and each invalid
// UTF-8 byte as U+FFFD. Unlike encoding/xml, a character outside XML 1.0's
// Char production (a control character, U+FFFE, U+FFFF) is written as a
// character reference (&#x1;), as S3 does: keys may hold them, and
// replacing them would list a key that does not exist. (Strict XML 1.0
// parsers refuse such a reference; clients that need them ask for
// encoding-type=url.)
func appendEscaped(b []byte, s string) []byte {
	last := 0
	for i := 0; i < len(s); {
		c := s[i]
		if xmlPlain[c] {
			i++
			continue
		}
		start := i
		var esc string
		if c < utf8.RuneSelf {
			i++
			switch c {
			case '"':
				esc = "&#34;"
			case '\'':
				esc = "&#39;"
			case '&':
				esc = "&amp;"
			case '<':
				esc = "&lt;"
			case '>':
				esc = "&gt;"
			case '\t':
				esc = "&#x9;"
			case '\n':
				esc = "&#xA;"
			case '\r':
				esc = "&#xD;"
			default: // the other control characters
				b = append(b, s[last:start]...)
				b = appendCharRef(b, rune(c))
				last = i
				continue
			}
		} else {
			r, width := utf8.DecodeRuneInString(s[i:])
			i += width
			valid := r != utf8.RuneError || width > 1
			if valid && isXMLChar(r) {
				continue
			}
			esc = "\uFFFD"
			if valid {
				b = append(b, s[last:start]...)
				b = appendCharRef(b, r)
				last = i
				continue
			}
		}
		b = append(b, s[last:start]...)
		b = append(b, esc...)
		last = i
	}
	return append(b, s[last:]...)
}

// appendCharRef appends the character reference of r: &#x1F;.
func appendCharRef(b []byte, r rune) []byte {
	b = append(b, "&#x"...)
	start := len(b)
	b = strconv.AppendUint(b, uint64(r), 16)
	for i := start; i < len(b); i++ {
		if b[i] >= 'a' {
			b[i] -= 'a' - 'A'
		}
	}
	return append(b, ';')
}

// xmlPlain[c] is true for the ASCII bytes encoding/xml writes as is: all
// from space on but " ' & < >.
var xmlPlain = func() (t [256]bool) {
	for c := ' '; c < utf8.RuneSelf; c++ {
		t[c] = !strings.ContainsRune(`"'&<>`, c)
	}
	return t
}()

// isXMLChar reports whether r is in XML's Char production (tab, newline,
// carriage return and U+0020 on, less surrogates, U+FFFE and U+FFFF), the
// range encoding/xml writes as is.
func isXMLChar(r rune) bool {
	return r == '\t' || r == '\n' || r == '\r' ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= utf8.MaxRune
}
