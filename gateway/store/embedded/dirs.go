package embedded

import (
	"encoding/hex"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// dataDirs are the subdirectories of dir/data (one per first byte of a
// file id), created on first use and then kept open for fsync.
type dataDirs struct {
	root    string     // dir/data
	mu      sync.Mutex // serializes creation
	open    [fanout]atomic.Pointer[os.File]
	removed [fanout]atomic.Bool // a file was removed since Open
}

// get returns subdirectory b, creating it (durably unless noSync) if
// needed.
func (d *dataDirs) get(b byte, noSync bool) (*os.File, error) {
	if f := d.open[b].Load(); f != nil {
		return f, nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if f := d.open[b].Load(); f != nil {
		return f, nil
	}
	p := filepath.Join(d.root, hex.EncodeToString([]byte{b}))
	err := os.Mkdir(p, 0o700)
	created := err == nil
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if created && !noSync {
		if err := syncDir(d.root); err != nil {
			return nil, err
		}
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	d.open[b].Store(f)
	return f, nil
}

// syncRemoved makes the removals since Open durable.
func (d *dataDirs) syncRemoved() error {
	for i := range d.open {
		if f := d.open[i].Load(); f != nil && d.removed[i].Load() {
			if err := f.Sync(); err != nil {
				return err
			}
		} else if f == nil && d.removed[i].Load() {
			if err := syncDir(filepath.Join(d.root, hex.EncodeToString([]byte{byte(i)}))); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
	}
	return nil
}

func (d *dataDirs) close() error {
	var errs []error
	for i := range d.open {
		if f := d.open[i].Swap(nil); f != nil {
			errs = append(errs, f.Close())
		}
	}
	return errors.Join(errs...)
}

func syncDir(path string) error {
	d, err := os.Open(path)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
