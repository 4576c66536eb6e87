package reversesshfs

import (
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// rootedFS serves the host's files under one directory (root) over SFTP. Every path a request
// names must be root or below it; anything else is refused with "permission denied". Paths keep
// their host spelling (the guest runs `sshfs :<root> <mountPoint>`), so the guest sees the same
// names Lima's sftp-server would show. Symbolic links are not resolved here: a link inside root
// that points outside it is followed by the host's open(2), as with OpenSSH's sftp-server; the
// guest resolves links itself unless the mount sets sshfs.followSymlinks.
type rootedFS struct {
	root     string // absolute, cleaned
	readOnly bool
}

// NewHandlers returns SFTP request handlers serving root (an absolute host path); with readOnly
// every change is refused.
func NewHandlers(root string, readOnly bool) sftp.Handlers {
	fs := &rootedFS{root: path.Clean(filepath.ToSlash(root)), readOnly: readOnly}
	return sftp.Handlers{FileGet: fs, FilePut: fs, FileCmd: fs, FileList: fs}
}

// check returns p as a host path when p is root or below it.
func (fs *rootedFS) check(p string) (string, error) {
	p = path.Clean("/" + p)
	if fs.root == "/" || p == fs.root || strings.HasPrefix(p, fs.root+"/") {
		return filepath.FromSlash(p), nil
	}
	return "", sftp.ErrSSHFxPermissionDenied
}

func (fs *rootedFS) writable() error {
	if fs.readOnly {
		return sftp.ErrSSHFxPermissionDenied
	}
	return nil
}

// Fileread implements sftp.FileReader.
func (fs *rootedFS) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	p, err := fs.check(r.Filepath)
	if err != nil {
		return nil, err
	}
	return os.Open(p)
}

// Filewrite implements sftp.FileWriter.
func (fs *rootedFS) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return fs.open(r)
}

// OpenFile implements sftp.OpenFileWriter (a handle opened for reading and writing).
func (fs *rootedFS) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	return fs.open(r)
}

func (fs *rootedFS) open(r *sftp.Request) (*os.File, error) {
	if err := fs.writable(); err != nil {
		return nil, err
	}
	p, err := fs.check(r.Filepath)
	if err != nil {
		return nil, err
	}
	pf := r.Pflags()
	flags := 0
	switch {
	case pf.Read && (pf.Write || pf.Append):
		flags = os.O_RDWR
	case pf.Write || pf.Append || pf.Creat || pf.Trunc:
		flags = os.O_WRONLY
	}
	if pf.Append {
		flags |= os.O_APPEND
	}
	if pf.Creat {
		flags |= os.O_CREATE
	}
	if pf.Trunc {
		flags |= os.O_TRUNC
	}
	if pf.Excl {
		flags |= os.O_EXCL
	}
	mode := os.FileMode(0o644)
	if r.AttrFlags().Permissions {
		mode = r.Attributes().FileMode().Perm()
	}
	return os.OpenFile(p, flags, mode)
}

// Filecmd implements sftp.FileCmder.
func (fs *rootedFS) Filecmd(r *sftp.Request) error {
	if err := fs.writable(); err != nil {
		return err
	}
	if r.Method == "Symlink" {
		// Filepath is the link's content (any text), Target the new link.
		link, err := fs.check(r.Target)
		if err != nil {
			return err
		}
		return os.Symlink(r.Filepath, link)
	}
	p, err := fs.check(r.Filepath)
	if err != nil {
		return err
	}
	switch r.Method {
	case "Setstat":
		return fs.setstat(p, r)
	case "Rename", "PosixRename":
		t, err := fs.check(r.Target)
		if err != nil {
			return err
		}
		return os.Rename(p, t)
	case "Link":
		t, err := fs.check(r.Target)
		if err != nil {
			return err
		}
		return os.Link(p, t)
	case "Rmdir", "Remove":
		return os.Remove(p)
	case "Mkdir":
		return os.Mkdir(p, 0o755)
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename implements sftp.PosixRenameFileCmder: rename replacing the target.
func (fs *rootedFS) PosixRename(r *sftp.Request) error { return fs.Filecmd(r) }

func (fs *rootedFS) setstat(p string, r *sftp.Request) error {
	flags, attrs := r.AttrFlags(), r.Attributes()
	if flags.Size {
		if err := os.Truncate(p, int64(attrs.Size)); err != nil {
			return err
		}
	}
	if flags.Permissions {
		if err := os.Chmod(p, attrs.FileMode().Perm()|attrs.FileMode()&(os.ModeSetuid|os.ModeSetgid|os.ModeSticky)); err != nil {
			return err
		}
	}
	if flags.UidGid {
		if err := os.Lchown(p, int(attrs.UID), int(attrs.GID)); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		mtime := time.Unix(int64(attrs.Mtime), 0)
		if st, err := os.Lstat(p); err == nil && st.ModTime().Unix() == int64(attrs.Mtime) {
			// SFTP carries whole seconds: an mtime equal to the file's to the second keeps the
			// file's sub-second part. So mountInotify's touch (the guest sets the host's own mtime
			// back) leaves the host's mtime as it was.
			mtime = st.ModTime()
		}
		if err := os.Chtimes(p, time.Unix(int64(attrs.Atime), 0), mtime); err != nil {
			return err
		}
	}
	return nil
}

// Filelist implements sftp.FileLister.
func (fs *rootedFS) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	p, err := fs.check(r.Filepath)
	if err != nil {
		return nil, err
	}
	switch r.Method {
	case "List":
		entries, err := os.ReadDir(p)
		if err != nil {
			return nil, err
		}
		infos := make(listerAt, 0, len(entries))
		for _, e := range entries {
			// Lstat each entry: the listing shows links as links.
			if fi, err := os.Lstat(filepath.Join(p, e.Name())); err == nil {
				infos = append(infos, fi)
			}
		}
		return infos, nil
	case "Stat":
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		return listerAt{fi}, nil
	case "Readlink":
		t, err := os.Readlink(p)
		if err != nil {
			return nil, err
		}
		return listerAt{linkName(t)}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// Lstat implements sftp.LstatFileLister.
func (fs *rootedFS) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	p, err := fs.check(r.Filepath)
	if err != nil {
		return nil, err
	}
	fi, err := os.Lstat(p)
	if err != nil {
		return nil, err
	}
	return listerAt{fi}, nil
}

// listerAt lists a fixed set of file infos.
type listerAt []os.FileInfo

func (l listerAt) ListAt(dst []os.FileInfo, offset int64) (int, error) {
	if offset >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[offset:])
	if n < len(dst) || offset+int64(n) >= int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// linkName is the file info a Readlink answer carries: only its name (the link's content) is used.
type linkName string

func (n linkName) Name() string       { return string(n) }
func (n linkName) Size() int64        { return 0 }
func (n linkName) Mode() os.FileMode  { return os.ModeSymlink }
func (n linkName) ModTime() time.Time { return time.Time{} }
func (n linkName) IsDir() bool        { return false }
func (n linkName) Sys() any           { return nil }
