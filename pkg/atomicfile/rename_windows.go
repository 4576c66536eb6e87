package atomicfile

import (
	"errors"
	"io/fs"
	"os"
)

// replace renames tmp over path. Windows refuses to replace a read-only file (lima-version,
// cloud-config.yaml are 0444), so such a target is made writable first.
func replace(tmp, path string) error {
	err := os.Rename(tmp, path)
	if err == nil || !errors.Is(err, fs.ErrPermission) {
		return err
	}
	if st, serr := os.Lstat(path); serr != nil || st.Mode().Perm()&0o200 != 0 {
		return err
	}
	if cerr := os.Chmod(path, 0o644); cerr != nil {
		return err
	}
	return os.Rename(tmp, path)
}
