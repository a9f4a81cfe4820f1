package embedded

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/lambda/storagecli/gateway/store"
)

// Records are stored in the index in a compact binary form: uvarint
// lengths, varint times (Unix nanoseconds), raw 16-byte MD5s and file ids.
// Every record starts with a format byte so the layout can evolve.

const recordFormat = 1

// errCorrupt reports a record that does not decode.
var errCorrupt = errors.New("embedded: corrupt index record")

// segment is one data file of an object, read in order.
type segment struct {
	id   fileID
	size int64
}

// partInfo is what an object made by CompleteMultipartUpload remembers of
// each part.
type partInfo struct {
	number   int
	size     int64
	md5      [16]byte
	checksum string
	mtime    int64
}

// objRecord is an object's index record.
type objRecord struct {
	size      int64
	mtime     int64
	md5       [16]byte // MD5 of the bytes, or of the part MD5s (multipart)
	etagParts int      // N of a multipart ETag "hex-N"; 0 for a plain MD5
	meta      store.Metadata
	sum       store.Checksum
	parts     []partInfo
	inline    bool
	data      []byte // inline bytes (aliases the decoded buffer unless copied)
	segs      []segment
	// upload is the multipart upload that made the object (zero for
	// others): a repeated CompleteMultipartUpload of it is answered from
	// this record while the object stands.
	upload uploadID
	// vid orders the version among its key's (see versions.go); a record
	// written before versions has none stored and gets one from its mtime.
	vid versionID
	// null marks the null version; marker a delete marker (no data).
	null, marker bool
	// versioned is not stored: set when the record is read or written, it
	// tells whether its bucket's versioning was ever set (the version id
	// then shows).
	versioned bool
}

// etag returns the object's ETag.
func (r *objRecord) etag() string {
	return formatETag(r.md5, r.etagParts)
}

// cost is what the object at key is charged (store.ObjectCost).
func (r *objRecord) cost(key string) int64 { return store.ObjectCost(key, r.size, &r.meta) }

// files returns the data files the record references.
func (r *objRecord) files() []fileID {
	ids := make([]fileID, len(r.segs))
	for i, sg := range r.segs {
		ids[i] = sg.id
	}
	return ids
}

// object describes the record as a store.Object.
func (r *objRecord) object(key string) *store.Object {
	o := new(store.Object)
	r.fill(o, key)
	return o
}

// fill describes the record in o (a zero Object).
func (r *objRecord) fill(o *store.Object, key string) {
	*o = store.Object{
		Key:          key,
		Size:         r.size,
		LastModified: unixTime(r.mtime),
		Meta:         r.meta,
		Checksum:     r.sum,
	}
	if !r.marker {
		o.ETag = r.etag()
	}
	if r.upload != (uploadID{}) {
		o.UploadID = r.upload.String()
	}
	o.VersionID, o.DeleteMarker = r.versionName(), r.marker
	if len(r.parts) > 0 {
		o.Parts = make([]store.Part, len(r.parts))
		for i, p := range r.parts {
			o.Parts[i] = p.part()
		}
	}
}

func (p *partInfo) part() store.Part {
	return store.Part{
		Number:       p.number,
		Size:         p.size,
		ETag:         hex.EncodeToString(p.md5[:]),
		Checksum:     p.checksum,
		LastModified: unixTime(p.mtime),
	}
}

func formatETag(md5 [16]byte, parts int) string {
	s := hex.EncodeToString(md5[:])
	if parts > 0 {
		s += "-" + strconv.Itoa(parts)
	}
	return s
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

const (
	flagInline = 1
	flagUpload = 2  // the record carries the id of the upload that made it
	flagVID    = 4  // the record carries its version id
	flagNull   = 8  // the null version (implied when flagVID is absent)
	flagMarker = 16 // a delete marker
	flagAttrs  = 32 // the record carries attributes (encoder.attrs)
)

func (r *objRecord) encode() []byte {
	e := encoder(make([]byte, 0, r.encodedSize()))
	flags := byte(0)
	if r.inline {
		flags |= flagInline
	}
	if r.upload != (uploadID{}) {
		flags |= flagUpload
	}
	if hasAttrs(&r.meta) {
		flags |= flagAttrs
	}
	flags |= flagVID
	if r.null {
		flags |= flagNull
	}
	if r.marker {
		flags |= flagMarker
	}
	e = append(e, recordFormat, flags)
	e.uvarint(uint64(r.size))
	e.varint(r.mtime)
	e = append(e, r.md5[:]...)
	e.uvarint(uint64(r.etagParts))
	e.meta(&r.meta)
	if flags&flagAttrs != 0 {
		e.attrs(&r.meta)
	}
	e.checksum(&r.sum)
	e.uvarint(uint64(len(r.parts)))
	for _, p := range r.parts {
		e.uvarint(uint64(p.number))
		e.uvarint(uint64(p.size))
		e = append(e, p.md5[:]...)
		e.str(p.checksum)
		e.varint(p.mtime)
	}
	if r.upload != (uploadID{}) {
		e = append(e, r.upload[:]...)
	}
	e = append(e, r.vid[:]...)
	if r.inline {
		return append(e, r.data...)
	}
	e.uvarint(uint64(len(r.segs)))
	for _, sg := range r.segs {
		e = append(e, sg.id[:]...)
		e.uvarint(uint64(sg.size))
	}
	return e
}

// encodedSize bounds the length of r's encoding, so that encode allocates
// once (a record with inline data is mostly the data).
func (r *objRecord) encodedSize() int {
	// Format and flags, the MD5, and 15 varints: size, mtime, ETag parts,
	// 7 metadata string lengths, the user metadata count, 3 checksum string
	// lengths, the parts count.
	n := 2 + len(r.md5) + len(r.upload) + len(r.vid) + 15*binary.MaxVarintLen64
	m := &r.meta
	for _, s := range [...]string{m.ContentType, m.ContentEncoding, m.ContentDisposition,
		m.ContentLanguage, m.CacheControl, m.Expires, m.StorageClass,
		r.sum.Algorithm, r.sum.Type, r.sum.Value} {
		n += len(s)
	}
	for _, a := range m.Attrs() {
		n += binary.MaxVarintLen64 + 1 + len(*a)
	}
	for k, v := range m.User {
		n += 2*binary.MaxVarintLen64 + len(k) + len(v)
	}
	for _, p := range r.parts {
		n += 4*binary.MaxVarintLen64 + len(p.md5) + len(p.checksum)
	}
	n += binary.MaxVarintLen64 + len(r.segs)*(len(fileID{})+binary.MaxVarintLen64)
	return n + len(r.data)
}

// decodeMode selects how much of an object record decodeObject returns.
type decodeMode int

const (
	decodeList decodeMode = iota // no parts, no inline bytes
	decodeHead                   // parts, no inline bytes
	decodeFull                   // everything; inline bytes alias buf
)

func decodeObject(buf []byte, mode decodeMode) (*objRecord, error) {
	d := decoder{b: buf}
	if d.byte() != recordFormat {
		return nil, errCorrupt
	}
	r := &objRecord{}
	flags := d.byte()
	r.inline = flags&flagInline != 0
	r.size = int64(d.uvarint())
	r.mtime = d.varint()
	d.raw(r.md5[:])
	r.etagParts = int(d.uvarint())
	d.meta(&r.meta)
	if flags&flagAttrs != 0 {
		d.attrs(&r.meta)
	}
	d.checksum(&r.sum)
	n := d.count(18)
	if mode != decodeList && n > 0 {
		r.parts = make([]partInfo, n)
	}
	for i := 0; i < n; i++ {
		var p partInfo
		p.number = int(d.uvarint())
		p.size = int64(d.uvarint())
		d.raw(p.md5[:])
		p.checksum = d.str()
		p.mtime = d.varint()
		if r.parts != nil {
			r.parts[i] = p
		}
	}
	if flags&flagUpload != 0 {
		d.raw(r.upload[:])
	}
	r.marker = flags&flagMarker != 0
	if flags&flagVID != 0 {
		d.raw(r.vid[:])
		r.null = flags&flagNull != 0
	} else {
		r.vid, r.null = stampVersionID(r.mtime), true
	}
	if r.inline {
		if d.err == nil && int64(len(d.b)) != r.size {
			return nil, errCorrupt
		}
		if mode == decodeFull {
			r.data = d.b
		}
	} else {
		n := d.count(17)
		r.segs = make([]segment, n)
		for i := range r.segs {
			d.raw(r.segs[i].id[:])
			r.segs[i].size = int64(d.uvarint())
		}
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

// partRecord is an uploaded part's index record.
type partRecord struct {
	size     int64
	md5      [16]byte
	checksum string
	mtime    int64
	file     fileID
}

func (p *partRecord) encode() []byte {
	e := encoder(make([]byte, 0, 64))
	e = append(e, recordFormat)
	e.uvarint(uint64(p.size))
	e = append(e, p.md5[:]...)
	e.str(p.checksum)
	e.varint(p.mtime)
	e = append(e, p.file[:]...)
	return e
}

func decodePart(buf []byte) (*partRecord, error) {
	d := decoder{b: buf}
	if d.byte() != recordFormat {
		return nil, errCorrupt
	}
	p := &partRecord{}
	p.size = int64(d.uvarint())
	d.raw(p.md5[:])
	p.checksum = d.str()
	p.mtime = d.varint()
	d.raw(p.file[:])
	return p, d.err
}

func (p *partRecord) part(number int) store.Part {
	return store.Part{
		Number:       number,
		Size:         p.size,
		ETag:         hex.EncodeToString(p.md5[:]),
		Checksum:     p.checksum,
		LastModified: unixTime(p.mtime),
	}
}

// uploadRecord is an in-progress multipart upload's index record. Its key
// and initiation time live in the index key and upload id.
type uploadRecord struct {
	meta store.Metadata
	alg  string
	typ  string
}

func (u *uploadRecord) encode() []byte {
	e := encoder(make([]byte, 0, 64))
	e = append(e, recordFormat)
	e.meta(&u.meta)
	e.str(u.alg)
	e.str(u.typ)
	if hasAttrs(&u.meta) {
		e.attrs(&u.meta)
	}
	return e
}

func decodeUpload(buf []byte) (*uploadRecord, error) {
	d := decoder{b: buf}
	if d.byte() != recordFormat {
		return nil, errCorrupt
	}
	u := &uploadRecord{}
	d.meta(&u.meta)
	u.alg = d.str()
	u.typ = d.str()
	if len(d.b) > 0 {
		d.attrs(&u.meta)
	}
	return u, d.err
}

// encoder appends the binary encoding of values.
type encoder []byte

func (e *encoder) uvarint(v uint64) { *e = binary.AppendUvarint(*e, v) }
func (e *encoder) varint(v int64)   { *e = binary.AppendVarint(*e, v) }
func (e *encoder) str(s string) {
	e.uvarint(uint64(len(s)))
	*e = append(*e, s...)
}

func (e *encoder) meta(m *store.Metadata) {
	for _, s := range [...]string{m.ContentType, m.ContentEncoding, m.ContentDisposition,
		m.ContentLanguage, m.CacheControl, m.Expires, m.StorageClass} {
		e.str(s)
	}
	e.uvarint(uint64(len(m.User)))
	for k, v := range m.User {
		e.str(k)
		e.str(v)
	}
}

// attrs writes the non-empty attributes of m as (index in m.Attrs(),
// value) pairs after their count.
func (e *encoder) attrs(m *store.Metadata) {
	all := m.Attrs()
	n := 0
	for _, a := range all {
		if *a != "" {
			n++
		}
	}
	e.uvarint(uint64(n))
	for i, a := range all {
		if *a != "" {
			e.uvarint(uint64(i))
			e.str(*a)
		}
	}
}

// hasAttrs reports whether m has an attribute set.
func hasAttrs(m *store.Metadata) bool {
	for _, a := range m.Attrs() {
		if *a != "" {
			return true
		}
	}
	return false
}

func (e *encoder) checksum(c *store.Checksum) {
	e.str(c.Algorithm)
	e.str(c.Type)
	e.str(c.Value)
}

// decoder reads what encoder wrote; the first error sticks and later reads
// return zero values.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) fail() { d.err, d.b = errCorrupt, nil }

func (d *decoder) byte() byte {
	if len(d.b) < 1 {
		d.fail()
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *decoder) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail()
		return 0
	}
	d.b = d.b[n:]
	return v
}

// count reads a length and checks that that many items of at least min
// bytes each can follow.
func (d *decoder) count(min int) int {
	n := d.uvarint()
	if n > uint64(len(d.b)/min) {
		d.fail()
		return 0
	}
	return int(n)
}

func (d *decoder) raw(dst []byte) {
	if len(d.b) < len(dst) {
		d.fail()
		return
	}
	copy(dst, d.b)
	d.b = d.b[len(dst):]
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail()
		return ""
	}
	s := string(d.b[:n])
	d.b = d.b[n:]
	return s
}

func (d *decoder) meta(m *store.Metadata) {
	for _, p := range [...]*string{&m.ContentType, &m.ContentEncoding, &m.ContentDisposition,
		&m.ContentLanguage, &m.CacheControl, &m.Expires, &m.StorageClass} {
		*p = d.str()
	}
	if n := d.count(2); n > 0 {
		m.User = make(map[string]string, n)
		for i := 0; i < n; i++ {
			k := d.str()
			m.User[k] = d.str()
		}
	}
}

// attrs reads what encoder.attrs wrote; an attribute index this version
// does not know is corruption (a newer index), never dropped.
func (d *decoder) attrs(m *store.Metadata) {
	all := m.Attrs()
	n := d.count(2)
	for i := 0; i < n; i++ {
		idx := d.uvarint()
		v := d.str()
		if idx >= uint64(len(all)) {
			d.fail()
			return
		}
		*all[idx] = v
	}
}

func (d *decoder) checksum(c *store.Checksum) {
	c.Algorithm = d.str()
	c.Type = d.str()
	c.Value = d.str()
}
