//go:build !windows

package atomicfile

import "os"

// replace renames tmp over path.
func replace(tmp, path string) error { return os.Rename(tmp, path) }
