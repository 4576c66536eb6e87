package instance

import (
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Work in progress (a create or clone being built, a delete being removed) lives in a
// $LIMA_HOME/.tmp-* directory whose instance.lock the owning process holds. A crashed process
// leaves its directory unlocked; the next create, clone or delete removes such leftovers.

const tmpPrefix = ".tmp-"

// staleAfter keeps the cleaner away from a directory whose owner has not locked it yet.
const staleAfter = time.Minute

// makeTmpDir creates a locked work directory under limaDir. release unlocks it; call it after
// the directory has been renamed into place or removed.
func makeTmpDir(limaDir, pattern string) (dir string, release func(), err error) {
	cleanStaleTmpDirs(limaDir)
	dir, err = os.MkdirTemp(limaDir, tmpPrefix+pattern)
	if err != nil {
		return "", nil, err
	}
	unlock, err := lockutil.Lock(filepath.Join(dir, filenames.InstanceLock))
	if err != nil {
		_ = os.RemoveAll(dir)
		return "", nil, err
	}
	return dir, func() { _ = unlock() }, nil
}

// cleanStaleTmpDirs removes the work directories of processes that died before finishing.
func cleanStaleTmpDirs(limaDir string) {
	matches, _ := filepath.Glob(filepath.Join(limaDir, tmpPrefix+"*"))
	for _, dir := range matches {
		st, err := os.Lstat(dir)
		if err != nil || !st.IsDir() || time.Since(st.ModTime()) < staleAfter {
			continue
		}
		unlock, err := lockutil.TryLock(filepath.Join(dir, filenames.InstanceLock))
		if errors.Is(err, lockutil.ErrLocked) || err != nil {
			continue
		}
		_ = os.RemoveAll(dir)
		_ = unlock()
	}
}
