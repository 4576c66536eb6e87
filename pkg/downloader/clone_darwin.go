package downloader

import (
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// tryClone makes dst a copy-on-write clone of src (APFS), through a temporary name.
func tryClone(src, dst string) bool {
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".clone.tmp")
	_ = os.Remove(tmp)
	if err := unix.Clonefile(src, tmp, 0); err != nil {
		return false
	}
	if err := os.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return false
	}
	return true
}
