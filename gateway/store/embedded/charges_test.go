package embedded

import (
	"encoding/binary"
	"path/filepath"
	"testing"

	"go.etcd.io/bbolt"
)

// TestChargesMigration: an index written before the charges (its counters
// hold data bytes only, and it has no charges mark) gets its usage
// recounted under them when it is opened.
func TestChargesMigration(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir, Options{})
	upload := populate(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Make it an index as the previous version left it.
	db, err := bbolt.Open(filepath.Join(dir, indexFile), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		v := make([]byte, 16)
		binary.BigEndian.PutUint64(v, 5519386) // populate's data bytes
		binary.BigEndian.PutUint64(v[8:], 4)
		if err := meta.Put(keyUsage, v); err != nil {
			return err
		}
		return meta.Delete(keyCharges)
	})
	if err == nil {
		err = db.Close()
	}
	if err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, dir, Options{})
	defer s.Close()
	checkPopulated(t, s, upload)
	checkConsistent(t, s)
}
