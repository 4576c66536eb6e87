package hostagent

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unsafe"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// inotifyMask is what the host watcher asks for: content and attribute changes, new entries
// (created or moved in), and the end of a watched directory.
const inotifyMask = unix.IN_MODIFY | unix.IN_ATTRIB | unix.IN_CLOSE_WRITE | unix.IN_CREATE | unix.IN_MOVED_TO |
	unix.IN_DELETE_SELF | unix.IN_MOVE_SELF

// inotifyWatcher watches directory trees with one inotify watch per directory, at most max of them.
type inotifyWatcher struct {
	f   *os.File // the inotify fd, non-blocking, so Close ends a pending Read
	fd  int
	max int

	mu      sync.Mutex
	dirs    map[int]string // watch descriptor -> directory
	limited bool           // the bound was hit (logged once)
	buf     [64 << 10]byte
}

// newPathWatcher watches the trees under roots (missing roots are skipped).
func newPathWatcher(roots []string, max int) (pathWatcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify_init1: %w", err)
	}
	w := &inotifyWatcher{f: os.NewFile(uintptr(fd), "inotify"), fd: fd, max: max, dirs: map[int]string{}}
	for _, r := range roots {
		w.addTree(r)
	}
	return w, nil
}

// addTree watches root and the directories below it, breadth first, within the bound. Symbolic
// links are not followed.
func (w *inotifyWatcher) addTree(root string) {
	queue := []string{root}
	for len(queue) > 0 {
		dir := queue[0]
		queue = queue[1:]
		if !w.add(dir) {
			return
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.IsDir() {
				queue = append(queue, filepath.Join(dir, e.Name()))
			}
		}
	}
}

// add watches one directory; false when no more watches can be added.
func (w *inotifyWatcher) add(dir string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.dirs) >= w.max {
		w.limitedLocked(fmt.Sprintf("the bound of %d directories", w.max))
		return false
	}
	wd, err := unix.InotifyAddWatch(w.fd, dir, inotifyMask|unix.IN_ONLYDIR|unix.IN_DONT_FOLLOW)
	switch {
	case errors.Is(err, unix.ENOSPC):
		w.limitedLocked("the kernel's fs.inotify.max_user_watches")
		return false
	case err != nil:
		logrus.WithError(err).Debugf("mountInotify: cannot watch %s", dir)
		return true
	}
	if _, ok := w.dirs[wd]; !ok {
		w.dirs[wd] = dir // an inode seen twice (nested mounts, bind mounts) keeps its first name
	}
	return true
}

func (w *inotifyWatcher) limitedLocked(why string) {
	if !w.limited {
		w.limited = true
		logrus.Warnf("mountInotify: watching %d directories, %s; changes in the others do not reach the guest's watchers", len(w.dirs), why)
	}
}

// Next implements pathWatcher: the paths of one read's events. New directories are watched
// (with what is already in them) and reported too.
func (w *inotifyWatcher) Next() ([]string, error) {
	for {
		n, err := w.f.Read(w.buf[:])
		if err != nil {
			if errors.Is(err, fs.ErrClosed) {
				return nil, io.EOF
			}
			return nil, err
		}
		paths := w.parse(w.buf[:n])
		if len(paths) > 0 {
			return paths, nil
		}
	}
}

func (w *inotifyWatcher) parse(b []byte) []string {
	var paths, newDirs []string
	for len(b) >= unix.SizeofInotifyEvent {
		ev := (*unix.InotifyEvent)(unsafe.Pointer(&b[0]))
		end := unix.SizeofInotifyEvent + int(ev.Len)
		if end > len(b) {
			break
		}
		name := strings.TrimRight(string(b[unix.SizeofInotifyEvent:end]), "\x00")
		b = b[end:]
		if ev.Mask&unix.IN_Q_OVERFLOW != 0 {
			logrus.Warn("mountInotify: the host's inotify queue overflowed; some changes were not sent to the guest")
			continue
		}
		w.mu.Lock()
		dir, ok := w.dirs[int(ev.Wd)]
		if ev.Mask&unix.IN_IGNORED != 0 {
			delete(w.dirs, int(ev.Wd))
		}
		w.mu.Unlock()
		if !ok || name == "" {
			continue // an event of the directory itself; its parent reports the entry
		}
		p := filepath.Join(dir, name)
		paths = append(paths, p)
		if ev.Mask&unix.IN_ISDIR != 0 && ev.Mask&(unix.IN_CREATE|unix.IN_MOVED_TO) != 0 {
			newDirs = append(newDirs, p)
		}
	}
	for _, d := range newDirs {
		// Files may have been made in it before the watch: report them as well.
		w.addTree(d)
		_ = filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && p != d {
				paths = append(paths, p)
			}
			if len(paths) > maxInotifyBatch {
				return filepath.SkipAll
			}
			return nil
		})
	}
	return paths
}

// Close implements pathWatcher.
func (w *inotifyWatcher) Close() error { return w.f.Close() }
