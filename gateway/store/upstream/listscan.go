package upstream

import (
	"bytes"
	"strconv"
	"strings"
	"unicode/utf8"
)

// scanListV2 decodes a ListBucketResult document of the plain shape S3
// servers write (an optional XML declaration, elements without
// namespace prefixes, text with the five predefined and numeric character
// references, attributes on the root element only) in one pass over its
// bytes. Anything else (comments, CDATA,
// DOCTYPE, carriage returns, a field given twice, text that is not UTF-8
// or not an XML character) makes it give up, ok false, and the caller
// decodes the document with encoding/xml; where it does succeed, it decodes
// what encoding/xml would (FuzzScanListV2 checks that).
func scanListV2(doc []byte) (l *listV2, encoding string, ok bool) {
	x := &xmlScanner{b: doc}
	x.space()
	if bytes.HasPrefix(x.b[x.i:], []byte("<?xml")) {
		end := bytes.Index(x.b[x.i:], []byte("?>"))
		if end < 0 || !plainDecl(x.b[x.i:x.i+end]) {
			return nil, "", false
		}
		x.i += end + 2
	}
	x.space()
	name, empty, ok := x.startTag(true)
	if !ok || string(name) != "ListBucketResult" || empty {
		return nil, "", false
	}
	l = &listV2{}
	var seenTruncated, seenEncoding bool
	for {
		x.space()
		if x.endTag(listBucketResultTag) {
			break
		}
		name, empty, ok := x.startTag(false)
		if !ok {
			return nil, "", false
		}
		switch string(name) {
		case "Contents":
			o, ok := x.object(empty)
			if !ok {
				return nil, "", false
			}
			l.Contents = append(l.Contents, o)
		case "CommonPrefixes":
			p, ok := x.commonPrefix(empty)
			if !ok {
				return nil, "", false
			}
			l.CommonPrefixes = append(l.CommonPrefixes, p)
		case "IsTruncated":
			t, ok := x.text(name, empty)
			if !ok || seenTruncated {
				return nil, "", false
			}
			seenTruncated = true
			if l.Truncated, ok = parseXMLBool(t); !ok {
				return nil, "", false
			}
		case "EncodingType":
			t, ok := x.text(name, empty)
			if !ok || seenEncoding {
				return nil, "", false
			}
			seenEncoding, encoding = true, t
		default:
			if !x.skip(name, empty) {
				return nil, "", false
			}
		}
	}
	x.space()
	if x.i != len(x.b) {
		return nil, "", false
	}
	return l, encoding, true
}

// plainDecl reports whether decl ("<?xml" up to "?>") is an XML
// declaration of the form S3 servers write: version 1.0, UTF-8 or no
// encoding named.
func plainDecl(decl []byte) bool {
	switch string(decl) {
	case `<?xml version="1.0" encoding="UTF-8"`, `<?xml version="1.0" encoding="utf-8"`,
		`<?xml version="1.0"`, `<?xml version='1.0' encoding='UTF-8'`, `<?xml version="1.0" encoding="UTF-8" standalone="yes"`:
		return true
	}
	return false
}

// Names of the elements scanListV2 reads the end of.
var (
	listBucketResultTag = []byte("ListBucketResult")
	contentsTag         = []byte("Contents")
	commonPrefixesTag   = []byte("CommonPrefixes")
)

// xmlScanner reads a document of the shape scanListV2 accepts.
type xmlScanner struct {
	b []byte
	i int
}

// maxScanDepth bounds the nesting of elements skipped.
const maxScanDepth = 32

func (x *xmlScanner) space() {
	for x.i < len(x.b) {
		switch x.b[x.i] {
		case ' ', '\t', '\n':
			x.i++
		default:
			return
		}
	}
}

// startTag reads "<name>" or "<name/>" (attributes only if attrs). ok is
// false at anything else, the scanner's position then undefined.
func (x *xmlScanner) startTag(attrs bool) (name []byte, empty, ok bool) {
	if x.i >= len(x.b) || x.b[x.i] != '<' {
		return nil, false, false
	}
	x.i++
	n := x.name()
	if len(n) == 0 {
		return nil, false, false
	}
	for {
		sp := x.i
		x.space()
		if x.i >= len(x.b) {
			return nil, false, false
		}
		switch x.b[x.i] {
		case '>':
			x.i++
			return n, false, true
		case '/':
			if x.i+1 < len(x.b) && x.b[x.i+1] == '>' {
				x.i += 2
				return n, true, true
			}
			return nil, false, false
		}
		if !attrs || sp == x.i || !x.attr() {
			return nil, false, false
		}
	}
}

// attr reads name="value" or name='value' (a value without '<' or '&').
func (x *xmlScanner) attr() bool {
	if len(x.name()) == 0 {
		return false
	}
	x.space()
	if x.i >= len(x.b) || x.b[x.i] != '=' {
		return false
	}
	x.i++
	x.space()
	if x.i >= len(x.b) || (x.b[x.i] != '"' && x.b[x.i] != '\'') {
		return false
	}
	q := x.b[x.i]
	end := bytes.IndexByte(x.b[x.i+1:], q)
	if end < 0 {
		return false
	}
	v := x.b[x.i+1 : x.i+1+end]
	if bytes.ContainsAny(v, "<&\r") || !xmlChars(v) {
		return false
	}
	x.i += end + 2
	return true
}

// name reads an element or attribute name of ASCII letters, digits, '-',
// '_' and '.', starting with a letter or '_'.
func (x *xmlScanner) name() []byte {
	start := x.i
	for x.i < len(x.b) {
		c := x.b[x.i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || x.i > start && (c >= '0' && c <= '9' || c == '-' || c == '.') {
			x.i++
			continue
		}
		break
	}
	return x.b[start:x.i]
}

// endTag consumes "</name>" if it is next.
func (x *xmlScanner) endTag(name []byte) bool {
	rest := x.b[x.i:]
	if len(rest) < len(name)+3 || rest[0] != '<' || rest[1] != '/' || !bytes.Equal(rest[2:2+len(name)], name) {
		return false
	}
	j := 2 + len(name)
	for j < len(rest) && (rest[j] == ' ' || rest[j] == '\t' || rest[j] == '\n') {
		j++
	}
	if j >= len(rest) || rest[j] != '>' {
		return false
	}
	x.i += j + 1
	return true
}

// text reads the character data of element name up to its end tag
// (nothing if empty), decoding character references.
func (x *xmlScanner) text(name []byte, empty bool) (string, bool) {
	if empty {
		return "", true
	}
	end := bytes.IndexByte(x.b[x.i:], '<')
	if end < 0 {
		return "", false
	}
	raw := x.b[x.i : x.i+end]
	x.i += end
	if !x.endTag(name) {
		return "", false
	}
	return unescapeXML(raw)
}

// skip passes over the rest of element name, whatever it holds.
func (x *xmlScanner) skip(name []byte, empty bool) bool {
	if empty {
		return true
	}
	var buf [8][]byte
	stack := append(buf[:0], name)
	for len(stack) > 0 {
		if !x.fieldSpace() {
			return false
		}
		if x.endTag(stack[len(stack)-1]) {
			stack = stack[:len(stack)-1]
			continue
		}
		n, empty, ok := x.startTag(false)
		if !ok {
			return false
		}
		if !empty {
			if len(stack) == maxScanDepth {
				return false
			}
			stack = append(stack, n)
		}
	}
	return true
}

// object reads a Contents element's fields.
func (x *xmlScanner) object(empty bool) (listV2Object, bool) {
	var o listV2Object
	if empty {
		return o, true
	}
	var seen [4]bool
	for {
		if !x.fieldSpace() {
			return o, false
		}
		if x.endTag(contentsTag) {
			return o, true
		}
		name, empty, ok := x.startTag(false)
		if !ok {
			return o, false
		}
		f := -1
		switch string(name) {
		case "Key":
			f = 0
		case "ETag":
			f = 1
		case "Size":
			f = 2
		case "LastModified":
			f = 3
		default:
			if !x.skip(name, empty) {
				return o, false
			}
			continue
		}
		if seen[f] {
			return o, false
		}
		seen[f] = true
		t, ok := x.text(name, empty)
		if !ok {
			return o, false
		}
		switch f {
		case 0:
			o.Key = t
		case 1:
			o.ETag = t
		case 2:
			if t != "" {
				n, err := strconv.ParseInt(strings.TrimSpace(t), 10, 64)
				if err != nil {
					return o, false
				}
				o.Size = n
			}
		case 3:
			if err := o.LastModified.UnmarshalText([]byte(t)); err != nil {
				return o, false
			}
		}
	}
}

// commonPrefix reads a CommonPrefixes element's Prefix.
func (x *xmlScanner) commonPrefix(empty bool) (string, bool) {
	if empty {
		return "", true
	}
	var p string
	seen := false
	for {
		if !x.fieldSpace() {
			return "", false
		}
		if x.endTag(commonPrefixesTag) {
			return p, true
		}
		name, empty, ok := x.startTag(false)
		if !ok {
			return "", false
		}
		if string(name) != "Prefix" {
			if !x.skip(name, empty) {
				return "", false
			}
			continue
		}
		if seen {
			return "", false
		}
		seen = true
		if p, ok = x.text(name, empty); !ok {
			return "", false
		}
	}
}

// fieldSpace passes over character data up to the next tag, which
// encoding/xml ignores here (between an entry's fields, inside skipped
// elements): any text that decodes.
func (x *xmlScanner) fieldSpace() bool {
	end := bytes.IndexByte(x.b[x.i:], '<')
	if end < 0 {
		return false
	}
	if !validText(x.b[x.i : x.i+end]) {
		return false
	}
	x.i += end
	return true
}

// validText reports whether unescapeXML decodes raw (without building the
// text when it holds no reference).
func validText(raw []byte) bool {
	if bytes.IndexByte(raw, '&') >= 0 {
		_, ok := unescapeXML(raw)
		return ok
	}
	return xmlChars(raw) && bytes.IndexByte(raw, '\r') < 0 && !bytes.Contains(raw, []byte("]]>"))
}

// parseXMLBool parses a boolean as encoding/xml does.
func parseXMLBool(s string) (bool, bool) {
	if s == "" {
		return false, true
	}
	b, err := strconv.ParseBool(strings.TrimSpace(s))
	return b, err == nil
}

// unescapeXML decodes the character data raw: the predefined entities and
// character references. ok is false for anything encoding/xml would
// decode otherwise or refuse ('\r', '>' after "]]", other entities,
// characters XML does not allow, bytes that are not UTF-8).
func unescapeXML(raw []byte) (string, bool) {
	if !xmlChars(raw) || bytes.IndexByte(raw, '\r') >= 0 || bytes.Contains(raw, []byte("]]>")) {
		return "", false
	}
	amp := bytes.IndexByte(raw, '&')
	if amp < 0 {
		return string(raw), true
	}
	var b strings.Builder
	b.Grow(len(raw))
	for amp >= 0 {
		b.Write(raw[:amp])
		raw = raw[amp:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 {
			return "", false
		}
		ent := string(raw[1:semi])
		raw = raw[semi+1:]
		switch ent {
		case "lt":
			b.WriteByte('<')
		case "gt":
			b.WriteByte('>')
		case "amp":
			b.WriteByte('&')
		case "apos":
			b.WriteByte('\'')
		case "quot":
			b.WriteByte('"')
		default:
			r, ok := charRef(ent)
			if !ok {
				return "", false
			}
			b.WriteRune(r)
		}
		amp = bytes.IndexByte(raw, '&')
	}
	b.Write(raw)
	return b.String(), true
}

// charRef decodes "#123" or "#x7b" to a character XML allows.
func charRef(ent string) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	base, digits := 10, ent[1:]
	if digits[0] == 'x' {
		base, digits = 16, digits[1:]
	}
	if digits == "" || digits[0] == '+' || digits[0] == '-' {
		return 0, false
	}
	n, err := strconv.ParseUint(digits, base, 32)
	if err != nil || !isXMLChar(rune(n)) {
		return 0, false
	}
	return rune(n), true
}

// xmlChars reports whether b is UTF-8 of characters XML allows.
func xmlChars(b []byte) bool {
	for i := 0; i < len(b); {
		c := b[i]
		if c < utf8.RuneSelf {
			if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
				return false
			}
			i++
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 || !isXMLChar(r) {
			return false
		}
		i += n
	}
	return true
}

// isXMLChar is the Char production of XML 1.0.
func isXMLChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
