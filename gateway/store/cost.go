package store

// What an order is charged. Besides the bytes of its objects and of the
// parts of its uploads in progress, everything an order holds takes room
// in the store's index and file system, so every entry is charged a fixed
// overhead plus the bytes of its names and metadata. Usage.Bytes is the
// sum of these costs: a Store keeps it, the gateway checks writes against
// the order's capacity with the same figures, and a recount (see
// order.Recount) adds them up again from the listings.
//
// The overheads cover what the names and metadata do not: the index
// record (sizes, times, MD5 and checksum, references to data files), the
// index's own per-entry and page bookkeeping, and for parts and large
// objects a data file (an inode, a directory entry, the last block). They
// are round figures above what the embedded store measures (an empty
// object's record is under 100 bytes and bbolt needs about 16 bytes per
// entry plus page slack), so that an order filled with empty entries
// still has its disk use bounded by its capacity.
const (
	// ObjectOverhead is charged per object, on top of its key, metadata
	// and bytes.
	ObjectOverhead = 512
	// PartOverhead is charged per part of an upload in progress, on top
	// of its bytes.
	PartOverhead = 512
	// UploadOverhead is charged per multipart upload in progress, on top
	// of its key and metadata.
	UploadOverhead = 512
	// BucketOverhead is charged per bucket, on top of its name.
	BucketOverhead = 1024
	// ConfigOverhead is charged per bucket configuration document, on top
	// of its name and bytes.
	ConfigOverhead = 256
)

// Size returns the bytes of m as it is stored and charged: every value
// (attributes too), and the name and value of each user metadata entry
// (0 for nil).
func (m *Metadata) Size() int64 {
	if m == nil {
		return 0
	}
	n := len(m.ContentType) + len(m.ContentEncoding) + len(m.ContentDisposition) +
		len(m.ContentLanguage) + len(m.CacheControl) + len(m.Expires) + len(m.StorageClass)
	for k, v := range m.User {
		n += len(k) + len(v)
	}
	for _, a := range m.Attrs() {
		n += len(*a)
	}
	return int64(n)
}

// ObjectCost is the charge for an object of size bytes at key with
// metadata m.
func ObjectCost(key string, size int64, m *Metadata) int64 {
	return ObjectOverhead + int64(len(key)) + m.Size() + size
}

// DeleteMarkerCost is the charge for a delete marker at key. Every
// version of an object is charged ObjectCost, current or not.
func DeleteMarkerCost(key string) int64 { return ObjectCost(key, 0, nil) }

// PartCost is the charge for a part of size bytes.
func PartCost(size int64) int64 { return PartOverhead + size }

// UploadCost is the charge for a multipart upload in progress at key with
// metadata m (its parts are charged separately).
func UploadCost(key string, m *Metadata) int64 {
	return UploadOverhead + int64(len(key)) + m.Size()
}

// BucketCost is the charge for a bucket named name.
func BucketCost(name string) int64 { return BucketOverhead + int64(len(name)) }

// MetadataUncharged is implemented by a Store that cannot charge object
// metadata: its usage comes from listings, which carry none (upstream).
// Its objects cost ObjectCost(key, size, nil); uploads still charge theirs.
type MetadataUncharged interface {
	UnchargedObjectMetadata()
}

// ChargesObjectMetadata reports whether s charges object metadata.
func ChargesObjectMetadata(s Store) bool {
	_, ok := s.(MetadataUncharged)
	return !ok
}

// ConfigCost is the charge for a bucket configuration document name of n
// bytes.
func ConfigCost(name string, n int) int64 { return ConfigOverhead + int64(len(name)) + int64(n) }
