package instance

import (
	"errors"

	"golang.org/x/sys/unix"
)

// renameNoReplace renames oldPath to newPath and fails with EEXIST when newPath exists, even as
// an empty directory (which a plain rename(2) would silently replace).
func renameNoReplace(oldPath, newPath string) error {
	err := unix.Renameat2(unix.AT_FDCWD, oldPath, unix.AT_FDCWD, newPath, unix.RENAME_NOREPLACE)
	if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOSYS) {
		return renameCheckFirst(oldPath, newPath)
	}
	if err != nil {
		return &linkErr{op: "rename", old: oldPath, new: newPath, err: err}
	}
	return nil
}
