package downloader

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/atomicfile"
)

// tryClone makes dst a copy-on-write clone of src (APFS), through a temporary name.
func tryClone(src, dst string) bool {
	tmp := atomicfile.TempName(dst)
	if err := unix.Clonefile(src, tmp, 0); err != nil {
		return false
	}
	if err := atomicfile.Rename(tmp, dst); err != nil {
		_ = os.Remove(tmp)
		return false
	}
	return true
}
