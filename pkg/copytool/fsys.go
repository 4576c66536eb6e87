package copytool

import (
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// fileSystem is one side of a copy: the host's file system or an instance's SFTP server. Stat
// follows symbolic links.
type fileSystem interface {
	Stat(name string) (fs.FileInfo, error)
	ReadDir(name string) ([]string, error)
	Open(name string) (io.ReadCloser, error)
	// Create opens name for writing, truncating it, and sets its permission bits to perm.
	Create(name string, perm fs.FileMode) (io.WriteCloser, error)
	Mkdir(name string, perm fs.FileMode) error
	Chmod(name string, perm fs.FileMode) error
	Chtimes(name string, atime, mtime time.Time) error
	Join(elem ...string) string
	Base(name string) string
	// Display renders name for messages, e.g. "vm:/etc/hosts".
	Display(name string) string
}

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
func (localFS) Create(name string, perm fs.FileMode) (io.WriteCloser, error) {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil && !isWindows() {
		f.Close()
		return nil, err
	}
	return f, nil
}
func (localFS) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }
func (localFS) Chmod(name string, perm fs.FileMode) error { return os.Chmod(name, perm) }
func (localFS) Chtimes(name string, atime, mtime time.Time) error {
	return os.Chtimes(name, atime, mtime)
}
func (localFS) Join(elem ...string) string { return filepath.Join(elem...) }
func (localFS) Base(name string) string    { return filepath.Base(name) }
func (localFS) Display(name string) string { return name }

type sftpFS struct {
	instance string
	c        *sftp.Client
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

func (s sftpFS) Stat(name string) (fs.FileInfo, error) { return s.c.Stat(name) }
func (s sftpFS) ReadDir(name string) ([]string, error) {
	infos, err := s.c.ReadDir(name)
	names := make([]string, 0, len(infos))
	for _, fi := range infos {
		names = append(names, fi.Name())
	}
	return names, err
}
func (s sftpFS) Open(name string) (io.ReadCloser, error) { return s.c.Open(name) }
func (s sftpFS) Create(name string, perm fs.FileMode) (io.WriteCloser, error) {
	f, err := s.c.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC)
	if err != nil {
		return nil, err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
func (s sftpFS) Mkdir(name string, perm fs.FileMode) error {
	if err := s.c.Mkdir(name); err != nil {
		return err
	}
	return s.c.Chmod(name, perm)
}
func (s sftpFS) Chmod(name string, perm fs.FileMode) error { return s.c.Chmod(name, perm) }
func (s sftpFS) Chtimes(name string, atime, mtime time.Time) error {
	return s.c.Chtimes(name, atime, mtime)
}
func (s sftpFS) Join(elem ...string) string { return path.Join(elem...) }
func (s sftpFS) Base(name string) string    { return path.Base(name) }
func (s sftpFS) Display(name string) string { return s.instance + ":" + name }
