// Package atomicfile writes the files a later limactl run reads and trusts (lima.yaml, keys,
// ssh.config, cidata.iso, the download cache, disks) so that a crash at any point, a SIGKILL or a
// power loss, leaves either the old file or the complete new one, never a truncated one.
//
// The new content goes to a temporary file in the target's directory, named ".NAME.<random>.tmp"
// (hidden, and ending in ".tmp" so that `limactl stop -f` removes it and `limactl clone` skips it;
// no real file has such a name). The temporary file is fsynced (F_FULLFSYNC on macOS), renamed over
// the target, and the directory is fsynced so the rename itself survives a power loss. A writer
// that fails or is aborted removes its temporary file; one that is killed leaves it behind, where
// nothing mistakes it for the target and RemoveTemps can clean it up.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File is a new version of a file being written. It is an *os.File open on the temporary file, so
// it can be written, seeked and truncated; do not Close it: Commit or Abort does.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts a new version of path: a temporary file in path's directory, created with perm
// (filtered by the umask, as os.WriteFile does). Nothing changes at path until Commit.
func Create(path string, perm os.FileMode) (*File, error) {
	for range 100 {
		f, err := os.OpenFile(TempName(path), os.O_RDWR|os.O_CREATE|os.O_EXCL, perm)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot write %s: %w", path, err)
		}
		return &File{File: f, path: path}, nil
	}
	return nil, fmt.Errorf("cannot write %s: no free temporary name in %s", path, filepath.Dir(path))
}

// Path returns the file that Commit replaces.
func (f *File) Path() string { return f.path }

// Commit makes what was written the content of Path: it fsyncs and closes the temporary file,
// renames it over Path and fsyncs the directory. On error the temporary file is removed and Path
// is left as it was. Commit or Abort may be called once; later calls of either do nothing (Commit
// then fails), so `defer f.Abort()` is the usual clean-up.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("cannot write %s: already committed or aborted", f.path)
	}
	f.done = true
	tmp := f.Name()
	err := fsync(f.File)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = replace(tmp, f.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("cannot write %s: %w", f.path, err)
	}
	return SyncDir(filepath.Dir(f.path))
}

// Abort discards what was written: the temporary file is closed and removed, and Path is left as
// it was. It does nothing after Commit or a previous Abort.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	_ = f.Close()
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// WriteFile replaces path with data, like os.WriteFile but crash-safe (see the package
// documentation). perm applies to a new file and to a replaced one alike, filtered by the umask. A
// symbolic link at path is replaced, not followed; see WriteUserFile for files the user names.
func WriteFile(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path, perm)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Commit()
}

// WriteUserFile is WriteFile for a file the user named on the command line: a symbolic link is
// followed and the file it points at replaced, an existing file keeps its mode (perm is for a new
// file), and something that is not a regular file (a device such as /dev/stdout, a pipe) is written
// in place, since it cannot be replaced.
func WriteUserFile(path string, data []byte, perm os.FileMode) error {
	if resolved, err := filepath.EvalSymlinks(path); err == nil {
		path = resolved
	}
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return WriteFile(path, data, perm)
	case err != nil:
		return err
	case !st.Mode().IsRegular():
		return os.WriteFile(path, data, perm)
	}
	f, err := Create(path, st.Mode().Perm())
	if err != nil {
		return err
	}
	defer f.Abort()
	// Create's mode went through the umask; the replaced file's mode is kept as it was.
	if err := f.Chmod(st.Mode().Perm()); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return f.Commit()
}

// Rename moves oldpath, a complete file written by someone else (qemu-img, a resumable download),
// to newpath durably: oldpath's data is fsynced first, and the directory after the rename. oldpath
// should be in newpath's directory (see TempName), so the rename is atomic.
func Rename(oldpath, newpath string) error {
	// Windows needs write access to flush a file's buffers.
	f, err := os.OpenFile(oldpath, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = fsync(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", newpath, err)
	}
	if err := replace(oldpath, newpath); err != nil {
		return err
	}
	if od, nd := filepath.Dir(oldpath), filepath.Dir(newpath); od != nd {
		if err := SyncDir(od); err != nil {
			return err
		}
	}
	return SyncDir(filepath.Dir(newpath))
}

// TempName returns a fresh temporary name for path, in path's directory; the file is not created.
// It is for tools that create their output themselves (qemu-img); pass the result to Rename.
func TempName(path string) string {
	return filepath.Join(filepath.Dir(path), tempPrefix(path)+strconv.FormatUint(rand.Uint64(), 36)+tempSuffix)
}

const tempSuffix = ".tmp"

func tempPrefix(path string) string { return "." + filepath.Base(path) + "." }

// RemoveTemps removes the temporary files that writers of path killed before Commit or Abort left
// behind. Call it only while holding a lock that keeps other writers of path away (the instance
// lock for the files of an instance), or it removes their work in progress.
func RemoveTemps(path string) error {
	dir := filepath.Dir(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	var errs []error
	for _, e := range entries {
		if !isTempOf(e.Name(), path) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// isTempOf reports whether name is a name TempName returns for path.
func isTempOf(name, path string) bool {
	mid, ok := strings.CutPrefix(name, tempPrefix(path))
	if !ok {
		return false
	}
	if mid, ok = strings.CutSuffix(mid, tempSuffix); !ok || mid == "" {
		return false
	}
	return strings.Trim(mid, "0123456789abcdefghijklmnopqrstuvwxyz") == ""
}
