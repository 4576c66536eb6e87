package copytool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pkg/sftp"

	"github.com/limactl/limactl/pkg/textutil"
)

// source is the side a copy reads: the host's file system or an instance's SFTP server. Stat
// follows symbolic links.
type source interface {
	Stat(name string) (fs.FileInfo, error)
	// ReadDir returns the names in a directory, as the side lists them (unchecked).
	ReadDir(name string) ([]string, error)
	Open(name string) (io.ReadCloser, error)
	Join(elem ...string) string
	Base(name string) string
	Dir(name string) string
	// ID names a file uniquely on its side, e.g. "vm:/etc/hosts"; Display is ID made printable.
	ID(name string) string
	// Untrusted reports whether the side is a guest, whose sizes and listings are bounded.
	Untrusted() bool
}

// destDir is a directory a copy writes into. Every name is one path element, checked by the caller;
// nothing a destDir does follows a symbolic link at a name, or leaves the directory.
type destDir interface {
	// Lstat describes name: on the host without following a symbolic link; a guest follows its own
	// links, as scp does.
	Lstat(name string) (fs.FileInfo, error)
	// Mkdir creates the directory name, writable by its owner, and returns the permission bits it
	// must get once its contents are written.
	Mkdir(name string, perm fs.FileMode) (final fs.FileMode, err error)
	// Sub opens the existing directory name.
	Sub(name string) (destDir, error)
	// Create starts writing the regular file name with permission bits perm.
	Create(name string, perm fs.FileMode) (destFile, error)
	Chmod(name string, perm fs.FileMode) error
	Chtimes(name string, mtime time.Time) error
	// ID names name uniquely on its side, like source.ID.
	ID(name string) string
	Close() error
}

// destFile is a file being written. Commit makes it the file at its name, with mtime; Abort
// gives up on it.
type destFile interface {
	io.Writer
	Commit(mtime time.Time) error
	Abort()
}

// display makes an ID printable: a guest's file names may hold escape sequences.
func display(id string) string { return textutil.Printable(id) }

// --- the host ---

type localFS struct{}

func (localFS) Stat(name string) (fs.FileInfo, error) { return os.Stat(name) }
func (localFS) ReadDir(name string) ([]string, error) {
	entries, err := os.ReadDir(name)
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names, err
}
func (localFS) Open(name string) (io.ReadCloser, error) { return os.Open(name) }
func (localFS) Join(elem ...string) string              { return filepath.Join(elem...) }
func (localFS) Base(name string) string                 { return filepath.Base(name) }
func (localFS) Dir(name string) string                  { return filepath.Dir(name) }
func (localFS) ID(name string) string                   { return filepath.Clean(name) }
func (localFS) Untrusted() bool                         { return false }

// rootDir is a host directory, written through an *os.Root: a name cannot leave it, and a
// symbolic link in it is never followed (Lstat before descending, files replaced by rename).
type rootDir struct {
	root *os.Root
	path string // for messages
}

func openRootDir(dir string) (destDir, error) {
	r, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &rootDir{root: r, path: dir}, nil
}

func (d *rootDir) Lstat(name string) (fs.FileInfo, error) { return d.root.Lstat(name) }

// Mkdir creates name with perm plus owner rwx; the kernel applies the umask. The final mode is
// what the umask left of perm, so a guest cannot make a host directory world-writable (or setgid:
// only permission bits are ever set) unless the user's umask allows it.
func (d *rootDir) Mkdir(name string, perm fs.FileMode) (fs.FileMode, error) {
	if err := d.root.Mkdir(name, perm.Perm()|0o700); err != nil {
		return 0, err
	}
	st, err := d.root.Lstat(name)
	if err != nil {
		return 0, err
	}
	return st.Mode().Perm() & perm.Perm(), nil
}

func (d *rootDir) Sub(name string) (destDir, error) {
	st, err := d.root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if st.Mode()&fs.ModeSymlink != 0 || !st.IsDir() {
		return nil, fmt.Errorf("%s is not a directory", display(d.ID(name)))
	}
	r, err := d.root.OpenRoot(name)
	if err != nil {
		return nil, err
	}
	return &rootDir{root: r, path: filepath.Join(d.path, name)}, nil
}

// Create writes a new file under a temporary name, created exclusively (so no symbolic link or
// earlier file is followed), with perm filtered by the umask; Commit renames it over name, which
// replaces a symbolic link there instead of writing through it.
func (d *rootDir) Create(name string, perm fs.FileMode) (destFile, error) {
	for range 100 {
		tmp := ".limactl-copy-" + strconv.FormatUint(rand.Uint64(), 36) + ".tmp"
		f, err := d.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm.Perm())
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &rootFile{File: f, d: d, tmp: tmp, name: name}, nil
	}
	return nil, fmt.Errorf("no free temporary name in %s", d.path)
}

func (d *rootDir) Chmod(name string, perm fs.FileMode) error { return d.root.Chmod(name, perm) }
func (d *rootDir) Chtimes(name string, mtime time.Time) error {
	return d.root.Chtimes(name, mtime, mtime)
}
func (d *rootDir) ID(name string) string { return filepath.Join(d.path, name) }
func (d *rootDir) Close() error          { return d.root.Close() }

type rootFile struct {
	*os.File
	d         *rootDir
	tmp, name string
}

func (f *rootFile) Commit(mtime time.Time) error {
	err := f.Close()
	if err == nil {
		err = f.d.root.Chtimes(f.tmp, mtime, mtime)
	}
	if err == nil {
		err = f.d.root.Rename(f.tmp, f.name)
	}
	if err != nil {
		_ = f.d.root.Remove(f.tmp)
	}
	return err
}

func (f *rootFile) Abort() {
	_ = f.Close()
	_ = f.d.root.Remove(f.tmp)
}

// --- a guest ---

// sftpFS is an instance's SFTP server. Its listings are metered: see ReadDir.
type sftpFS struct {
	instance string
	c        *sftp.Client
	meter    *meter
}

// guestPath turns a command-line guest path into one the SFTP server resolves: "" and "~" are the
// home directory, "~/x" is x under it (the server's working directory is the home).
func guestPath(p string) string {
	switch {
	case p == "" || p == "~":
		return "."
	case strings.HasPrefix(p, "~/"):
		return "./" + strings.TrimLeft(p[2:], "/")
	}
	return p
}

func (s *sftpFS) Stat(name string) (fs.FileInfo, error) { return s.c.Stat(name) }

// errListTooLarge ends a listing that has sent more than maxListBytes.
var errListTooLarge = errors.New("listing too large")

// ReadDir lists a directory. pkg/sftp's client gathers a whole listing in memory before it returns
// it, so a server that keeps sending entries would make it grow forever: the listing is cancelled
// once the server has sent maxListBytes during it, and refused when it has more than maxDirEntries
// entries.
func (s *sftpFS) ReadDir(name string) ([]string, error) {
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	s.meter.start(maxListBytes, func() { cancel(errListTooLarge) })
	infos, err := s.c.ReadDirContext(ctx, name)
	s.meter.stop()
	if errors.Is(context.Cause(ctx), errListTooLarge) {
		return nil, fmt.Errorf("the listing of %s is larger than %d MiB (more than %d entries?): %w",
			display(s.ID(name)), maxListBytes>>20, maxDirEntries, errListTooLarge)
	}
	if err != nil {
		return nil, err
	}
	if len(infos) > maxDirEntries {
		return nil, fmt.Errorf("%s has more than %d entries", display(s.ID(name)), maxDirEntries)
	}
	names := make([]string, 0, len(infos))
	for _, fi := range infos {
		names = append(names, fi.Name())
	}
	return names, nil
}

func (s *sftpFS) Open(name string) (io.ReadCloser, error) { return s.c.Open(name) }
func (s *sftpFS) Join(elem ...string) string              { return path.Join(elem...) }
func (s *sftpFS) Base(name string) string                 { return path.Base(name) }
func (s *sftpFS) Dir(name string) string                  { return path.Dir(name) }
func (s *sftpFS) ID(name string) string                   { return s.instance + ":" + name }
func (s *sftpFS) Untrusted() bool                         { return true }

// sftpDir is a directory in a guest. The guest protects its own files, and its symbolic links are
// followed as scp follows them; names are still checked by the copier, so that one guest cannot
// make a copy write outside the target in another.
type sftpDir struct {
	fs  *sftpFS
	dir string
}

func (d *sftpDir) p(name string) string { return path.Join(d.dir, name) }

func (d *sftpDir) Lstat(name string) (fs.FileInfo, error) { return d.fs.c.Stat(d.p(name)) }

// Mkdir keeps the source's permission bits exactly, as copies to a guest always did.
func (d *sftpDir) Mkdir(name string, perm fs.FileMode) (fs.FileMode, error) {
	if err := d.fs.c.Mkdir(d.p(name)); err != nil {
		return 0, err
	}
	return perm.Perm(), d.fs.c.Chmod(d.p(name), perm.Perm()|0o700)
}

func (d *sftpDir) Sub(name string) (destDir, error) {
	return &sftpDir{fs: d.fs, dir: d.p(name)}, nil
}

func (d *sftpDir) Create(name string, perm fs.FileMode) (destFile, error) {
	f, err := d.fs.c.OpenFile(d.p(name), os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm.Perm()); err != nil {
		f.Close()
		return nil, err
	}
	return &sftpFile{File: f, d: d, name: name}, nil
}

func (d *sftpDir) Chmod(name string, perm fs.FileMode) error { return d.fs.c.Chmod(d.p(name), perm) }
func (d *sftpDir) Chtimes(name string, mtime time.Time) error {
	return d.fs.c.Chtimes(d.p(name), mtime, mtime)
}
func (d *sftpDir) ID(name string) string { return d.fs.ID(d.p(name)) }
func (d *sftpDir) Close() error          { return nil }

type sftpFile struct {
	*sftp.File
	d    *sftpDir
	name string
}

func (f *sftpFile) Commit(mtime time.Time) error {
	if err := f.Close(); err != nil {
		return err
	}
	return f.d.Chtimes(f.name, mtime)
}

func (f *sftpFile) Abort() { _ = f.Close() }

// meter counts the bytes an SFTP server sends, and calls a function once a budget is spent.
type meter struct {
	r io.Reader

	mu   sync.Mutex
	left int64
	over func() // nil while nothing is metered
}

func (m *meter) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	m.mu.Lock()
	if m.over != nil {
		if m.left -= int64(n); m.left < 0 {
			m.over()
			m.over = nil
		}
	}
	m.mu.Unlock()
	return n, err
}

func (m *meter) start(budget int64, over func()) {
	m.mu.Lock()
	m.left, m.over = budget, over
	m.mu.Unlock()
}

func (m *meter) stop() {
	m.mu.Lock()
	m.over = nil
	m.mu.Unlock()
}
