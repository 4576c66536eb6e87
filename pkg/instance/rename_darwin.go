package instance

import "golang.org/x/sys/unix"

func renameNoReplace(oldPath, newPath string) error {
	if err := unix.RenamexNp(oldPath, newPath, unix.RENAME_EXCL); err != nil {
		return &linkErr{op: "rename", old: oldPath, new: newPath, err: err}
	}
	return nil
}
