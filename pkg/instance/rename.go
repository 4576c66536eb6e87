package instance

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
)

type linkErr struct {
	op, old, new string
	err          error
}

func (e *linkErr) Error() string { return e.op + " " + e.old + " " + e.new + ": " + e.err.Error() }
func (e *linkErr) Unwrap() error { return e.err }

// renameCheckFirst is the portable fallback: it refuses an existing target, then renames. Between
// the check and the rename another process may create the target; rename(2) still refuses a
// non-empty directory, and an instance directory is never empty.
func renameCheckFirst(oldPath, newPath string) error {
	if _, err := os.Lstat(newPath); err == nil {
		return &linkErr{op: "rename", old: oldPath, new: newPath, err: fs.ErrExist}
	}
	return os.Rename(oldPath, newPath)
}

// isExist reports whether err means the rename target already exists.
func isExist(err error) bool {
	return errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY) || errors.Is(err, syscall.EEXIST)
}
