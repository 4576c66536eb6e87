//go:build !linux && !darwin

package reversesshfs

import (
	"os"
	"time"
)

// atimeOf is a file's access time; the zero time when the platform does not say.
func atimeOf(os.FileInfo) time.Time { return time.Time{} }
