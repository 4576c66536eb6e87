package reversesshfs

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// folder is the mount's host directory as the SFTP server sees it. Guest paths keep their host
// spelling (the guest runs `sshfs :<location> <mountPoint>`, so it names files as
// <location>/...); a path maps to a name relative to the folder, and every file system call goes
// through an os.Root opened on the folder. The root, not a comparison of strings, keeps each call
// inside: a symbolic link or ".." that would leave the folder fails, at the moment of the call,
// however the guest rearranges the tree meanwhile. A symbolic link may be created with any
// content; it is only never followed out.
type folder struct {
	root     *os.Root
	name     string // the folder's path in the guest's spelling: slashes, cleaned, absolute
	readOnly bool
}

var (
	// errOutside answers a path that leaves the folder, by its name or through a link.
	errOutside = fmt.Errorf("outside the shared folder: %w", fs.ErrPermission)
	// errReadOnly answers every change on a read-only mount.
	errReadOnly = fmt.Errorf("read-only mount: %w", fs.ErrPermission)
	errExist    = fmt.Errorf("target exists: %w", fs.ErrExist)
	errIsDir    = errors.New("is a directory")
	errNotDir   = errors.New("not a directory")
	errLoop     = errors.New("too many levels of symbolic links")
	errRange    = errors.New("value out of range")
)

func openFolder(dir string, readOnly bool) (*folder, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	name := filepath.ToSlash(dir)
	if !strings.HasPrefix(name, "/") {
		name = "/" + name // a Windows drive path: /C:/Users/...
	}
	return &folder{root: root, name: path.Clean(name), readOnly: readOnly}, nil
}

// clean makes a guest path absolute (a relative one is taken from the folder) and cleaned.
func (d *folder) clean(p string) string {
	if !strings.HasPrefix(p, "/") {
		p = d.name + "/" + p
	}
	return path.Clean(p)
}

// rel maps a cleaned guest path to its name in the root ("." for the folder itself).
func (d *folder) rel(p string) (string, error) {
	switch {
	case p == d.name:
		return ".", nil
	case d.name == "/":
		return p[1:], nil
	case strings.HasPrefix(p, d.name+"/"):
		return p[len(d.name)+1:], nil
	}
	return "", errOutside
}

// at runs op on the root's name for guest path p. os.Root follows only relative links that stay
// inside at every step; when it refuses one, p is resolved here (resolve) and op runs once more on
// a name with no link left. follow says whether op follows a link in p's last element.
func (d *folder) at(p string, follow bool, op func(name string) error) error {
	rel, err := d.rel(d.clean(p))
	if err != nil {
		return err
	}
	if err = op(filepath.FromSlash(rel)); !escapes(err) {
		return err
	}
	if rel, err = d.resolve(p, follow); err != nil {
		return err
	}
	if err = op(filepath.FromSlash(rel)); escapes(err) {
		return errOutside
	}
	return err
}

// at2 is at for the two paths of a rename or a hard link; neither follows a last link.
func (d *folder) at2(p1, p2 string, op func(name1, name2 string) error) error {
	rel1, err := d.rel(d.clean(p1))
	if err != nil {
		return err
	}
	rel2, err := d.rel(d.clean(p2))
	if err != nil {
		return err
	}
	if err = op(filepath.FromSlash(rel1), filepath.FromSlash(rel2)); !escapes(err) {
		return err
	}
	if rel1, err = d.resolve(p1, false); err != nil {
		return err
	}
	if rel2, err = d.resolve(p2, false); err != nil {
		return err
	}
	if err = op(filepath.FromSlash(rel1), filepath.FromSlash(rel2)); escapes(err) {
		return errOutside
	}
	return err
}

// escapes reports whether os.Root refused a name because it (or a link on its way) leaves the root.
// os has no exported error for it, so its text is matched; TestSymlinksInside fails if it changes.
func escapes(err error) bool {
	for ; err != nil; err = errors.Unwrap(err) {
		if err.Error() == "path escapes from parent" {
			return true
		}
	}
	return false
}

// resolve follows the links in guest path p (and in its last element when follow is set) the way
// the kernel would, through the root's Lstat and Readlink only: an absolute link whose target is
// in the folder, or a relative one that climbs out and back in by the folder's own name, is
// followed; anything else that leaves the folder is errOutside. It returns the root's name for the
// result, in which no element was a link when it looked.
func (d *folder) resolve(p string, follow bool) (string, error) {
	todo := strings.Split(d.clean(p), "/")
	cur, links := "/", 0
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			cur = path.Dir(cur)
			continue
		}
		next := path.Join(cur, elem)
		rel, err := d.rel(next)
		if err != nil {
			if len(todo) > 0 && (next == "/" || strings.HasPrefix(d.name, next+"/")) {
				cur = next // on the way down to the folder
				continue
			}
			return "", errOutside
		}
		if len(todo) == 0 && !follow {
			cur = next
			break
		}
		fi, err := d.root.Lstat(filepath.FromSlash(rel))
		if errors.Is(err, fs.ErrNotExist) && len(todo) == 0 {
			cur = next // a name to create
			break
		}
		if err != nil {
			return "", err
		}
		if fi.Mode().Type() != fs.ModeSymlink {
			cur = next
			continue
		}
		if links++; links > 40 {
			return "", errLoop
		}
		target, err := d.root.Readlink(filepath.FromSlash(rel))
		if err != nil {
			return "", err
		}
		target = filepath.ToSlash(target)
		if strings.HasPrefix(target, "/") {
			cur = "/"
		}
		todo = append(strings.Split(target, "/"), todo...)
	}
	return d.rel(cur)
}

func (d *folder) writable() error {
	if d.readOnly {
		return errReadOnly
	}
	return nil
}

func (d *folder) stat(p string, follow bool) (fi os.FileInfo, err error) {
	err = d.at(p, follow, func(name string) error {
		if follow {
			fi, err = d.root.Stat(name)
		} else {
			fi, err = d.root.Lstat(name)
		}
		return err
	})
	return fi, err
}

// open opens a file for an SFTP OPEN: pflags are SSH_FXF_*, a the attributes (a mode for a new
// file). It tells whether the handle appends.
func (d *folder) open(p string, pflags uint32, a attrs) (f *os.File, appends bool, err error) {
	flags := os.O_RDONLY
	switch {
	case pflags&fxfRead != 0 && pflags&fxfWrite != 0:
		flags = os.O_RDWR
	case pflags&fxfWrite != 0:
		flags = os.O_WRONLY
	}
	if pflags&(fxfWrite|fxfAppend|fxfCreat|fxfTrunc) != 0 {
		if err := d.writable(); err != nil {
			return nil, false, err
		}
	}
	if pflags&fxfAppend != 0 {
		flags |= os.O_APPEND
		if flags&(os.O_WRONLY|os.O_RDWR) == 0 {
			flags |= os.O_WRONLY // OpenSSH's sftp-server does the same: append means write
		}
	}
	if pflags&fxfCreat != 0 {
		flags |= os.O_CREATE
		if pflags&fxfExcl != 0 {
			flags |= os.O_EXCL
		}
	}
	if pflags&fxfTrunc != 0 {
		flags |= os.O_TRUNC
	}
	mode, explicit := fs.FileMode(0o644), a.flags&attrPermissions != 0
	if explicit {
		mode = fs.FileMode(a.mode & 0o777) // no setuid, setgid or sticky bit from the guest
	}
	err = d.at(p, true, func(name string) error {
		f, err = d.openFile(name, flags, mode, explicit)
		return err
	})
	return f, flags&os.O_APPEND != 0, err
}

// openFile opens name; when it creates the file and the guest gave a mode, the file gets exactly
// that mode (the guest's umask is already in it: the host agent's umask is not applied on top).
func (d *folder) openFile(name string, flags int, mode fs.FileMode, explicit bool) (*os.File, error) {
	flags |= openNonblock
	if flags&os.O_CREATE == 0 {
		return d.root.OpenFile(name, flags, 0)
	}
	var err error
	for range 3 {
		// Create exclusively, to know whether this call created the file.
		var f *os.File
		if f, err = d.root.OpenFile(name, flags|os.O_EXCL, mode); err == nil {
			if explicit {
				if err := f.Chmod(mode); err != nil {
					_ = f.Close()
					return nil, err
				}
			}
			return f, nil
		}
		if flags&os.O_EXCL != 0 || !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
		if f, err = d.root.OpenFile(name, flags&^os.O_CREATE, 0); !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
		// Removed in between: try again.
	}
	return nil, err
}

func (d *folder) opendir(p string) (f *os.File, err error) {
	err = d.at(p, true, func(name string) error {
		f, err = d.root.OpenFile(name, os.O_RDONLY|openNonblock, 0)
		return err
	})
	if err != nil {
		return nil, err
	}
	if fi, err := f.Stat(); err != nil || !fi.IsDir() {
		_ = f.Close()
		if err == nil {
			err = errNotDir
		}
		return nil, err
	}
	return f, nil
}

// setstat applies a to the file at guest path p, or to f when the request named a handle (p is
// then the path the handle was opened with).
func (d *folder) setstat(p string, f *os.File, a attrs) error {
	if err := d.writable(); err != nil {
		return err
	}
	if a.flags&attrSize != 0 {
		if a.size > math.MaxInt64 {
			return errRange
		}
		if f != nil {
			if err := f.Truncate(int64(a.size)); err != nil {
				return err
			}
		} else if err := d.at(p, true, func(name string) error {
			tf, err := d.root.OpenFile(name, os.O_WRONLY|openNonblock, 0)
			if err != nil {
				return err
			}
			defer tf.Close()
			return tf.Truncate(int64(a.size))
		}); err != nil {
			return err
		}
	}
	if a.flags&attrPermissions != 0 {
		// Permission bits only: setuid and setgid never, sticky for directories.
		mode := fs.FileMode(a.mode & 0o777)
		chmod := func(isDir bool) fs.FileMode {
			if isDir && a.mode&sISVTX != 0 {
				return mode | fs.ModeSticky
			}
			return mode
		}
		if f != nil {
			fi, err := f.Stat()
			if err != nil {
				return err
			}
			if err := f.Chmod(chmod(fi.IsDir())); err != nil {
				return err
			}
		} else if err := d.at(p, true, func(name string) error {
			fi, err := d.root.Stat(name)
			if err != nil {
				return err
			}
			return d.root.Chmod(name, chmod(fi.IsDir()))
		}); err != nil {
			return err
		}
	}
	if a.flags&attrUIDGID != 0 {
		uid, gid := int(a.uid), int(a.gid)
		if f != nil {
			if err := f.Chown(uid, gid); err != nil {
				return err
			}
		} else if err := d.at(p, false, func(name string) error { return d.root.Lchown(name, uid, gid) }); err != nil {
			return err
		}
	}
	if a.flags&attrACModTime != 0 {
		return d.at(p, true, func(name string) error {
			mtime := time.Unix(int64(a.mtime), 0)
			if st, err := d.root.Stat(name); err == nil && st.ModTime().Unix() == int64(a.mtime) {
				// SFTP carries whole seconds: an mtime equal to the file's to the second keeps the
				// file's sub-second part. So mountInotify's touch (the guest sets the host's own
				// mtime back) leaves the host's mtime as it was.
				mtime = st.ModTime()
			}
			return d.root.Chtimes(name, time.Unix(int64(a.atime), 0), mtime)
		})
	}
	return nil
}

// mkdir creates a directory with the guest's mode (exactly: no umask on top), no setuid or setgid.
func (d *folder) mkdir(p string, a attrs) error {
	if err := d.writable(); err != nil {
		return err
	}
	return d.at(p, false, func(name string) error {
		if a.flags&attrPermissions == 0 {
			return d.root.Mkdir(name, 0o755)
		}
		perm := fs.FileMode(a.mode & 0o777)
		if err := d.root.Mkdir(name, perm); err != nil {
			return err
		}
		if a.mode&sISVTX != 0 {
			perm |= fs.ModeSticky
		}
		return d.root.Chmod(name, perm)
	})
}

// remove removes a file (rmdir false) or an empty directory (rmdir true), never following a link.
func (d *folder) remove(p string, rmdir bool) error {
	if err := d.writable(); err != nil {
		return err
	}
	return d.at(p, false, func(name string) error {
		fi, err := d.root.Lstat(name)
		switch {
		case err != nil:
			return err
		case rmdir && !fi.IsDir():
			return errNotDir
		case !rmdir && fi.IsDir():
			return errIsDir
		}
		return d.root.Remove(name)
	})
}

// rename moves oldp to newp inside the folder. SSH_FXP_RENAME refuses an existing target, as the
// protocol says; posix-rename@openssh.com replaces it.
func (d *folder) rename(oldp, newp string, replace bool) error {
	if err := d.writable(); err != nil {
		return err
	}
	return d.at2(oldp, newp, func(oldName, newName string) error {
		if !replace {
			if _, err := d.root.Lstat(newName); err == nil {
				return errExist
			}
		}
		return d.root.Rename(oldName, newName)
	})
}

// link makes newp a hard link to oldp (a link to a symbolic link is to the link itself).
func (d *folder) link(oldp, newp string) error {
	if err := d.writable(); err != nil {
		return err
	}
	return d.at2(oldp, newp, d.root.Link)
}

// symlink creates linkp holding target, whatever it says: following it is what is checked.
func (d *folder) symlink(target, linkp string) error {
	if err := d.writable(); err != nil {
		return err
	}
	return d.at(linkp, false, func(name string) error { return d.root.Symlink(target, name) })
}

func (d *folder) readlink(p string) (target string, err error) {
	err = d.at(p, false, func(name string) error {
		target, err = d.root.Readlink(name)
		return err
	})
	return target, err
}
