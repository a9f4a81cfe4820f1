//go:build !linux

package embedded

import (
	"errors"
	"os"
)

// setDirect: direct writes are used on Linux only.
func setDirect(*os.File, bool) error { return errors.ErrUnsupported }
