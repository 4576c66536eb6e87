package guestagent

import (
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// File system magic numbers (statfs f_type) of the shared folders a host may touch.
const (
	v9fsMagic = 0x01021997 // 9p
	fuseMagic = 0x65735546 // FUSE: sshfs, virtiofs
)

// sharedFS reports whether dir is on a shared-folder file system; a variable for tests.
var sharedFS = func(dir string) (bool, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return false, err
	}
	return st.Type == v9fsMagic || st.Type == fuseMagic, nil
}

// touch sets path's modification time to mtime, leaving its access time alone and not following a
// final symbolic link. Changing the mtime alone makes the guest kernel report IN_MODIFY (both
// times would give IN_ATTRIB), the event file watchers look for. The host's file usually has that mtime already, so nothing changes there,
// and the host's watcher drops the attribute event the touch causes (no ping-pong). A path that does not exist is not an error (it was removed again, or the guest does not
// see it yet).
func touch(path string, mtime time.Time) error {
	if !filepath.IsAbs(path) {
		return fmt.Errorf("not an absolute path: %q", path)
	}
	ok, err := sharedFS(filepath.Dir(path))
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("%s is not on a shared folder (9p, sshfs, virtiofs)", path)
	}
	ts := []unix.Timespec{{Nsec: unix.UTIME_OMIT}, unix.NsecToTimespec(mtime.UnixNano())}
	err = unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
	if errors.Is(err, unix.ENOENT) {
		return nil
	}
	return err
}
