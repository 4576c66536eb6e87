package guestagent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// sharedFSTypes are the file system types (as /proc/self/mountinfo names them) of the shared
// folders a host may touch. statfs cannot tell: a 9p mount reports the host file system's type.
var sharedFSTypes = []string{"9p", "virtiofs", "fuse.sshfs", "fuse"}

// sharedFS reports whether dir is on a shared-folder file system; a variable for tests.
var sharedFS = func(dir string) (bool, error) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return false, err
	}
	return slices.Contains(sharedFSTypes, fsTypeOf(string(b), dir)), nil
}

// fsTypeOf returns the type of the mount holding dir (an absolute, clean path) in a mountinfo
// text: the one with the longest mount point that is dir or above it, the last one of equals
// (it is mounted over the others).
func fsTypeOf(mountinfo, dir string) string {
	best, bestType := -1, ""
	for _, line := range strings.Split(mountinfo, "\n") {
		// ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS
		fields := strings.Fields(line)
		sep := slices.Index(fields, "-")
		if len(fields) < 5 || sep < 0 || sep+1 >= len(fields) {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if mp != "/" && dir != mp && !strings.HasPrefix(dir, mp+"/") {
			continue
		}
		if len(mp) >= best {
			best, bestType = len(mp), fields[sep+1]
		}
	}
	return bestType
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space, \011, \012, \134).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
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
