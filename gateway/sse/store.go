package sse

import (
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/lambda/storagecli/gateway/checksum"
	"github.com/lambda/storagecli/gateway/s3err"
	"github.com/lambda/storagecli/gateway/store"
)

// The S3 errors of encrypted objects (AWS's codes and messages).
var (
	// ErrKeyRequired: an SSE-C object read without its key.
	ErrKeyRequired = s3err.InvalidRequest.WithMessage("The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.")
	// ErrKeyMismatch: an SSE-C object read with another key.
	ErrKeyMismatch = s3err.AccessDenied.WithMessage("The SSE-C key provided does not match the key the object was stored with.")
	// ErrNotApplicable: SSE-C parameters for an object not stored with them.
	ErrNotApplicable = s3err.InvalidRequest.WithMessage("The encryption parameters are not applicable to this object.")
	// ErrPartKeyRequired: a part of an SSE-C upload sent without the key.
	ErrPartKeyRequired = s3err.InvalidRequest.WithMessage("The multipart upload initiate requested encryption. Subsequent part requests must include the appropriate encryption parameters.")
	// ErrPartKeyMismatch: a part of an SSE-C upload sent with another key.
	ErrPartKeyMismatch = s3err.InvalidRequest.WithMessage("The provided encryption parameters did not match the ones used originally.")
)

// Request is what a request asks of encryption: the gateway puts it in
// the request's context (WithRequest) for the Store.
type Request struct {
	// S3 asks for SSE-S3 on the object written (x-amz-server-side-encryption: AES256).
	S3 bool
	// Key is the SSE-C key of the object written or read; SrcKey that of
	// a copy source (x-amz-copy-source-server-side-encryption-customer-key).
	Key, SrcKey []byte
	// Copy: the request's reads are of a copy source (UploadPartCopy).
	Copy bool
	// Verify: HeadObject checks the SSE-C key as a read does (HeadObject,
	// GetObjectAttributes).
	Verify bool
	// Report, if set, is told the mode (ModeS3, ModeC) of the object or
	// upload written, or read with Verify or by GetObject.
	Report func(mode string)
}

type ctxKey struct{}

// WithRequest returns ctx carrying r.
func WithRequest(ctx context.Context, r *Request) context.Context {
	return context.WithValue(ctx, ctxKey{}, r)
}

func requestOf(ctx context.Context) *Request {
	if r, ok := ctx.Value(ctxKey{}).(*Request); ok {
		return r
	}
	return &Request{}
}

func (r *Request) report(d *Descriptor) {
	if r.Report != nil && d != nil {
		r.Report(d.Mode)
	}
}

// readKey is the SSE-C key of the object a read is of.
func (r *Request) readKey() []byte {
	if r.Copy {
		return r.SrcKey
	}
	return r.Key
}

// Store encrypts the objects of the store it wraps: it is that store with
// every object's bytes stored encrypted when the request or the bucket's
// default asks, and every size it reports (objects, parts, listings) the
// plaintext's.
type Store struct {
	store.Store
	keys *Keyring
}

// Wrap returns s encrypting with the order keys kr. s must make its own
// ETags from the MD5s the gateway computes and keep object metadata in
// listings (the embedded store).
func Wrap(s store.Store, kr *Keyring) (*Store, error) {
	if store.MakesETags(s) || !store.ChargesObjectMetadata(s) {
		return nil, errors.New("sse: the store does not keep what encryption needs")
	}
	return &Store{Store: s, keys: kr}, nil
}

// Unwrap returns the store Wrap wrapped.
func (s *Store) Unwrap() store.Store { return s.Store }

// newDescriptor returns the descriptor and data key of an object or
// upload written with req in bucket: SSE-C with req.Key, SSE-S3 when asked
// or the bucket's default, else nil.
func (s *Store) newDescriptor(ctx context.Context, bucket string, req *Request) (*Descriptor, *DataKey, error) {
	switch {
	case req.Key != nil:
		d, k := NewC(req.Key)
		return d, k, nil
	case req.S3:
		d, k := s.keys.NewS3()
		return d, k, nil
	}
	_, err := s.Store.GetBucketConfig(ctx, bucket, store.ConfigEncryption)
	switch {
	case errors.Is(err, store.ErrNoSuchConfig):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	}
	d, k := s.keys.NewS3()
	return d, k, nil
}

// open returns o's descriptor and data key for a read with customerKey,
// mapping the failures to S3 errors.
func (s *Store) open(o *store.Object, customerKey []byte) (*Descriptor, *DataKey, error) {
	d, err := ParseDescriptor(o.Meta.Encryption)
	if err != nil {
		return nil, nil, err
	}
	if d == nil || d.Mode != ModeC {
		if customerKey != nil {
			return nil, nil, ErrNotApplicable
		}
		if d == nil {
			return nil, nil, nil
		}
	}
	k, err := s.keys.Open(d, customerKey)
	switch {
	case errors.Is(err, ErrKeyMissing):
		return nil, nil, ErrKeyRequired
	case errors.Is(err, ErrWrongKey):
		return nil, nil, ErrKeyMismatch
	}
	return d, k, err
}

// plain rewrites o's sizes (the object's and its parts') as plaintext
// sizes and returns its layout (nil for an unencrypted object).
func plain(o *store.Object) (Layout, error) {
	d, err := ParseDescriptor(o.Meta.Encryption)
	if err != nil || d == nil {
		return nil, err
	}
	var l Layout
	if len(o.Parts) > 0 {
		l = make(Layout, len(o.Parts))
		for i := range o.Parts {
			p := &o.Parts[i]
			if p.Size, err = PlainSize(p.Size); err != nil {
				return nil, err
			}
			l[i] = Stream{Part: p.Number, Size: p.Size}
		}
	} else {
		size, err := PlainSize(o.Size)
		if d.Size >= 0 {
			size = d.Size // multipart: the parts are not listed
		} else if err != nil {
			return nil, err
		}
		l = Layout{{Size: size}}
	}
	o.Size = l.Size()
	return l, nil
}

// plainAll is plain of every object.
func plainAll(objs []store.Object) error {
	for i := range objs {
		if _, err := plain(&objs[i]); err != nil {
			return fmt.Errorf("sse: %s: %w", objs[i].Key, err)
		}
	}
	return nil
}

// PutObject stores in.Body encrypted when asked (or by the bucket's default).
func (s *Store) PutObject(ctx context.Context, bucket, key string, in store.PutInput) (*store.Object, error) {
	req := requestOf(ctx)
	d, k, err := s.newDescriptor(ctx, bucket, req)
	if err != nil || d == nil {
		if err != nil {
			return nil, err
		}
		return s.Store.PutObject(ctx, bucket, key, in)
	}
	s.seal(&in, d, k, 0)
	o, err := s.Store.PutObject(ctx, bucket, key, in)
	if err != nil {
		return nil, err
	}
	if _, err := plain(o); err != nil {
		return nil, err
	}
	req.report(d)
	return o, nil
}

// seal makes in the encrypted stream of part (0: a single PUT) under k.
func (s *Store) seal(in *store.PutInput, d *Descriptor, k *DataKey, part int) {
	in.Meta.Encryption = d.String()
	in.Body = Encrypter(in.Body, k.AEAD, part)
	if in.Size >= 0 {
		in.Size = CipherSize(in.Size)
	}
	if d.Mode == ModeC && in.Sums != nil {
		sums := in.Sums
		in.Sums = func() store.Sums {
			sm := sums()
			if sm.MD5 != nil {
				sm.MD5 = k.ETag(sm.MD5)
			}
			return sm
		}
	}
}

// HeadObject describes the object with its plaintext size.
func (s *Store) HeadObject(ctx context.Context, bucket, key string) (*store.Object, error) {
	return s.HeadObjectVersion(ctx, bucket, key, "")
}

// HeadObjectVersion describes the version with its plaintext size; with
// Request.Verify an SSE-C object needs its key.
func (s *Store) HeadObjectVersion(ctx context.Context, bucket, key, versionID string) (*store.Object, error) {
	o, err := s.Store.HeadObjectVersion(ctx, bucket, key, versionID)
	if err != nil {
		return o, err
	}
	if _, err := plain(o); err != nil {
		return nil, err
	}
	if req := requestOf(ctx); req.Verify {
		d, _, err := s.open(o, req.Key)
		if err != nil {
			return nil, err
		}
		req.report(d)
	}
	return o, nil
}

// GetObject reads the object, decrypting it.
func (s *Store) GetObject(ctx context.Context, bucket, key string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	return s.GetObjectVersion(ctx, bucket, key, "", check)
}

// GetObjectVersion reads the version, decrypting it: check sees its
// plaintext size and gives a plaintext range.
func (s *Store) GetObjectVersion(ctx context.Context, bucket, key, versionID string, check store.CheckFunc) (*store.Object, io.ReadCloser, error) {
	req := requestOf(ctx)
	return s.get(ctx, bucket, key, versionID, check, req.readKey(), req.report)
}

// get is GetObjectVersion with the SSE-C key given.
func (s *Store) get(ctx context.Context, bucket, key, versionID string, check store.CheckFunc, customerKey []byte, report func(*Descriptor)) (*store.Object, io.ReadCloser, error) {
	var (
		seen   *store.Object
		l      Layout
		k      *DataKey
		d      *Descriptor
		off, n int64
	)
	o, rc, err := s.Store.GetObjectVersion(ctx, bucket, key, versionID, func(o *store.Object) (int64, int64, error) {
		seen, k = o, nil
		var err error
		if l, err = plain(o); err != nil {
			return 0, 0, err
		}
		off, n = 0, -1
		if check != nil {
			if off, n, err = check(o); err != nil {
				return 0, 0, err
			}
		}
		if d, k, err = s.open(o, customerKey); err != nil || k == nil {
			return off, n, err
		}
		if n < 0 {
			n = o.Size - off
		}
		if off < 0 || n < 0 || off+n > o.Size {
			return 0, 0, store.ErrInvalidRange
		}
		cOff, cLen := l.CipherRange(off, n)
		return cOff, cLen, nil
	})
	if seen != nil {
		o = seen
	}
	if err != nil || k == nil {
		return o, rc, err
	}
	report(d)
	dec := Decrypter(rc, k.AEAD, l, off, n)
	// The first segments are opened now: stored bytes failing there are
	// an error answer rather than a broken transfer.
	if err := dec.Prime(); err != nil {
		rc.Close()
		return nil, nil, err
	}
	return o, &readCloser{dec, rc}, nil
}

// readCloser reads the plaintext of a stored range and closes the range.
type readCloser struct {
	*Reader
	c io.Closer
}

func (r *readCloser) Close() error { return r.c.Close() }

// ListObjects lists with plaintext sizes.
func (s *Store) ListObjects(ctx context.Context, bucket string, opts store.ListOptions) (*store.ListPage, error) {
	p, err := s.Store.ListObjects(ctx, bucket, opts)
	if err == nil {
		err = plainAll(p.Objects)
	}
	return p, err
}

// ListObjectVersions lists with plaintext sizes.
func (s *Store) ListObjectVersions(ctx context.Context, bucket string, opts store.VersionsOptions) (*store.VersionsPage, error) {
	p, err := s.Store.ListObjectVersions(ctx, bucket, opts)
	if err == nil {
		err = plainAll(p.Versions)
	}
	return p, err
}

// UpdateObject is UpdateObjectVersion of the current version.
func (s *Store) UpdateObject(ctx context.Context, bucket, key string, fn func(*store.Object) error) (*store.Object, error) {
	return s.UpdateObjectVersion(ctx, bucket, key, "", fn)
}

// UpdateObjectVersion shows fn the version with its plaintext size.
func (s *Store) UpdateObjectVersion(ctx context.Context, bucket, key, versionID string, fn func(*store.Object) error) (*store.Object, error) {
	o, err := s.Store.UpdateObjectVersion(ctx, bucket, key, versionID, func(o *store.Object) error {
		c := *o
		c.Parts = append([]store.Part(nil), o.Parts...)
		if _, err := plain(&c); err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		o.Meta.CopyAttrs(&c.Meta)
		return nil
	})
	if err == nil {
		_, err = plain(o)
	}
	return o, err
}

// CreateMultipartUpload starts an upload whose parts are encrypted when
// asked (or by the bucket's default).
func (s *Store) CreateMultipartUpload(ctx context.Context, bucket, key string, in store.UploadInput) (string, error) {
	req := requestOf(ctx)
	d, _, err := s.newDescriptor(ctx, bucket, req)
	if err != nil {
		return "", err
	}
	if d != nil {
		in.Meta.Encryption = d.String()
	}
	id, err := s.Store.CreateMultipartUpload(ctx, bucket, key, in)
	if err == nil {
		req.report(d)
	}
	return id, err
}

// upload returns the upload's descriptor (nil: unencrypted).
func (s *Store) upload(ctx context.Context, bucket, key, uploadID string) (*Descriptor, error) {
	p, err := s.Store.ListParts(ctx, bucket, key, uploadID, 0, 1)
	if err != nil {
		return nil, err
	}
	return ParseDescriptor(p.Upload.Meta.Encryption)
}

// UploadPart stores the part encrypted with the upload's data key.
func (s *Store) UploadPart(ctx context.Context, bucket, key, uploadID string, number int, in store.PutInput) (*store.Part, error) {
	req := requestOf(ctx)
	d, err := s.upload(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, err
	}
	if d == nil || d.Mode != ModeC {
		if req.Key != nil {
			return nil, ErrNotApplicable
		}
		if d == nil {
			return s.Store.UploadPart(ctx, bucket, key, uploadID, number, in)
		}
	}
	k, err := s.keys.Open(d, req.Key)
	switch {
	case errors.Is(err, ErrKeyMissing):
		return nil, ErrPartKeyRequired
	case errors.Is(err, ErrWrongKey):
		return nil, ErrPartKeyMismatch
	case err != nil:
		return nil, err
	}
	s.seal(&in, d, k, number)
	p, err := s.Store.UploadPart(ctx, bucket, key, uploadID, number, in)
	if err != nil {
		return nil, err
	}
	if p.Size, err = PlainSize(p.Size); err != nil {
		return nil, err
	}
	req.report(d)
	return p, nil
}

// ListParts lists the parts with their plaintext sizes.
func (s *Store) ListParts(ctx context.Context, bucket, key, uploadID string, after, limit int) (*store.PartsPage, error) {
	p, err := s.Store.ListParts(ctx, bucket, key, uploadID, after, limit)
	if err != nil || p.Upload.Meta.Encryption == "" {
		return p, err
	}
	for i := range p.Parts {
		if p.Parts[i].Size, err = PlainSize(p.Parts[i].Size); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// CompleteMultipartUpload assembles the object; its descriptor records
// its plaintext size, which listings show.
func (s *Store) CompleteMultipartUpload(ctx context.Context, bucket, key, uploadID string, parts []store.CompletePart, in store.CompleteInput) (*store.Object, error) {
	d, err := s.upload(ctx, bucket, key, uploadID)
	if errors.Is(err, store.ErrNoSuchUpload) {
		// a repeated completion is answered from the object
		o, err := s.Store.CompleteMultipartUpload(ctx, bucket, key, uploadID, parts, in)
		if err == nil {
			_, err = plain(o)
		}
		return o, err
	}
	if err != nil || d == nil {
		if err != nil {
			return nil, err
		}
		return s.Store.CompleteMultipartUpload(ctx, bucket, key, uploadID, parts, in)
	}
	sizes, err := s.partSizes(ctx, bucket, key, uploadID)
	if err != nil {
		return nil, err
	}
	// A listed part that is not uploaded fails the completion below.
	d.Size = 0
	for _, p := range parts {
		d.Size += sizes[p.Number]
	}
	in.Encryption = d.String()
	o, err := s.Store.CompleteMultipartUpload(ctx, bucket, key, uploadID, parts, in)
	if err != nil {
		return nil, err
	}
	if _, err := plain(o); err != nil {
		return nil, err
	}
	requestOf(ctx).report(d)
	return o, nil
}

// partSizes returns the plaintext sizes of the upload's parts by number.
func (s *Store) partSizes(ctx context.Context, bucket, key, uploadID string) (map[int]int64, error) {
	sizes := map[int]int64{}
	for after := 0; ; {
		p, err := s.ListParts(ctx, bucket, key, uploadID, after, 0)
		if err != nil {
			return nil, err
		}
		for _, pt := range p.Parts {
			sizes[pt.Number] = pt.Size
		}
		if !p.Truncated {
			return sizes, nil
		}
		after = p.Next
	}
}

// errPlainCopy: the source turned out encrypted after a copy was started
// as one of unencrypted bytes.
var errPlainCopy = errors.New("sse: the copy source is encrypted")

// CopyObject copies src to dst. Unencrypted to unencrypted is the wrapped
// store's copy; otherwise the source is decrypted (with
// Request.SrcKey for SSE-C) and written as PutObject writes, encrypted as
// the request or the destination bucket's default asks.
func (s *Store) CopyObject(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, in store.CopyInput) (*store.Object, error) {
	req := requestOf(ctx)
	d, _, err := s.newDescriptor(ctx, dstBucket, req)
	if err != nil {
		return nil, err
	}
	if d == nil {
		fast := in
		fast.SrcCheck = func(src *store.Object) error {
			if src.Meta.Encryption != "" {
				return errPlainCopy
			}
			if req.SrcKey != nil {
				return ErrNotApplicable
			}
			if in.SrcCheck != nil {
				return in.SrcCheck(src)
			}
			return nil
		}
		o, err := s.Store.CopyObject(ctx, srcBucket, srcKey, dstBucket, dstKey, fast)
		if !errors.Is(err, errPlainCopy) {
			return o, err
		}
	}
	return s.copyThrough(ctx, srcBucket, srcKey, dstBucket, dstKey, in)
}

// copyThrough copies by reading the source's plaintext and writing it.
func (s *Store) copyThrough(ctx context.Context, srcBucket, srcKey, dstBucket, dstKey string, in store.CopyInput) (*store.Object, error) {
	req := requestOf(ctx)
	src, rc, err := s.get(ctx, srcBucket, srcKey, in.SrcVersionID, func(o *store.Object) (int64, int64, error) {
		if in.SrcCheck != nil {
			if err := in.SrcCheck(o); err != nil {
				return 0, 0, err
			}
		}
		return 0, -1, nil
	}, req.SrcKey, func(*Descriptor) {})
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	meta := src.Meta
	if in.Meta != nil {
		meta = *in.Meta
	}
	meta.Encryption = ""
	if in.Attrs != nil {
		a := in.Attrs(src)
		meta.CopyAttrs(&a)
	}
	alg := in.ChecksumAlgorithm
	if alg == "" {
		alg = src.Checksum.Algorithm
	}
	sum := md5.New()
	var ck hash.Hash
	w := io.Writer(sum)
	if alg != "" {
		if ck, err = checksum.New(alg); err != nil {
			return nil, err
		}
		w = io.MultiWriter(sum, ck)
	}
	sums := func() store.Sums {
		sm := store.Sums{MD5: sum.Sum(nil)}
		if ck != nil {
			sm.Checksum = store.Checksum{Algorithm: alg, Type: store.FullObject, Value: base64.StdEncoding.EncodeToString(ck.Sum(nil))}
		}
		return sm
	}
	return s.PutObject(ctx, dstBucket, dstKey, store.PutInput{Body: io.TeeReader(rc, w), Size: src.Size, Sums: sums, Meta: meta, Cond: in.Cond})
}
