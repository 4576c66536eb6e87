package copytool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/pkg/sftp"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"
)

// Limits on what a copy reads from a guest (docs/security.md, "Bounds"). A guest's SFTP server is
// untrusted: without them a listing that never ends, or a tree without a bottom, would make a copy
// run, and grow, forever. Variables so that tests can lower them.
const maxDepth = 128 // nested directories; following symbolic links can otherwise loop forever

var (
	maxDirEntries   = 100_000   // entries in one directory
	maxTotalEntries = 1_000_000 // entries in one copy, all directories together
	maxListBytes    = int64(32 << 20)
)

// Options controls Copy.
type Options struct {
	Recursive bool      // copy directories (-r)
	Verbose   bool      // print each file copied to Out (-v)
	Out       io.Writer // where Verbose prints; nil discards
}

// Dialer returns an SSH connection to a running instance. Copy closes it when done.
type Dialer func(ctx context.Context, instance string) (*ssh.Client, error)

// NewSFTPClient opens an SFTP session on c with concurrent reads and writes.
func NewSFTPClient(c *ssh.Client) (*sftp.Client, error) {
	s, err := sftp.NewClient(c, sftp.UseConcurrentReads(true), sftp.UseConcurrentWrites(true))
	if err != nil {
		return nil, fmt.Errorf("cannot start SFTP in the guest (is sftp-server installed?): %w", err)
	}
	return s, nil
}

// sftpStream is an SFTP session's byte streams with the guest's server, and how to end it.
type sftpStream struct {
	r     io.Reader      // from the server
	w     io.WriteCloser // to the server
	close func()
}

// opener starts an SFTP session with an instance's server.
type opener func(ctx context.Context, instance string) (sftpStream, error)

// sshOpener starts SFTP sessions over connections from dial.
func sshOpener(dial Dialer) opener {
	return func(ctx context.Context, instance string) (sftpStream, error) {
		c, err := dial(ctx, instance)
		if err != nil {
			return sftpStream{}, err
		}
		s, err := c.NewSession()
		if err != nil {
			c.Close()
			return sftpStream{}, fmt.Errorf("cannot open an SSH session to %s: %w", instance, err)
		}
		s.Stderr = io.Discard
		w, err := s.StdinPipe()
		var r io.Reader
		if err == nil {
			r, err = s.StdoutPipe()
		}
		if err == nil {
			err = s.RequestSubsystem("sftp")
		}
		if err != nil {
			s.Close()
			c.Close()
			return sftpStream{}, fmt.Errorf("cannot start SFTP in the guest (is sftp-server installed?): %w", err)
		}
		return sftpStream{r: r, w: w, close: func() { s.Close(); c.Close() }}, nil
	}
}

// Copy copies srcs to dst like cp/scp: with several sources dst must be an existing directory; a
// source copied onto an existing directory lands inside it under its own name. dial is called once
// per instance named in the locations.
func Copy(ctx context.Context, srcs []Location, dst Location, dial Dialer, o Options) error {
	return copyVia(ctx, srcs, dst, sshOpener(dial), o)
}

func copyVia(ctx context.Context, srcs []Location, dst Location, open opener, o Options) error {
	if len(srcs) == 0 {
		return errors.New("nothing to copy: give at least one source")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	conns := map[string]*sftpFS{}
	defer func() {
		for _, f := range conns {
			f.c.Close()
		}
	}()
	fsFor := func(l Location) (source, string, error) {
		if l.IsLocal() {
			return localFS{}, l.Path, nil
		}
		if f, ok := conns[l.Instance]; ok {
			return f, guestPath(l.Path), nil
		}
		st, err := open(ctx, l.Instance)
		if err != nil {
			return nil, "", err
		}
		m := &meter{r: st.r}
		c, err := sftp.NewClientPipe(m, st.w, sftp.UseConcurrentReads(true), sftp.UseConcurrentWrites(true))
		if err != nil {
			st.close()
			return nil, "", fmt.Errorf("cannot start SFTP in the guest (is sftp-server installed?): %w", err)
		}
		// Closing the client ends every request waiting on the guest, so an interrupt ends the copy
		// even when the guest stops answering.
		stop := context.AfterFunc(ctx, func() { c.Close() })
		go func() { _ = c.Wait(); stop(); st.close() }()
		f := &sftpFS{instance: l.Instance, c: c, meter: m}
		conns[l.Instance] = f
		return f, guestPath(l.Path), nil
	}
	dfs, dpath, err := fsFor(dst)
	if err != nil {
		return err
	}
	dinfo, derr := dfs.Stat(dpath)
	dstIsDir := derr == nil && dinfo.IsDir()
	if len(srcs) > 1 && !dstIsDir {
		if derr != nil {
			return fmt.Errorf("target %s: %w (with several sources the target must be an existing directory)", dst, derr)
		}
		return fmt.Errorf("target %s is not a directory (with several sources the target must be one)", dst)
	}
	c := &copier{ctx: ctx, o: o}
	for _, src := range srcs {
		sfs, spath, err := fsFor(src)
		if err != nil {
			return err
		}
		info, err := sfs.Stat(spath)
		if err != nil {
			return fmt.Errorf("cannot copy %s: %w", src, err)
		}
		// The target is name in the directory parent: a source copied into an existing directory
		// keeps its base name ("." for the directory itself); otherwise the target is dst itself.
		parent, name := dpath, "."
		if dstIsDir {
			if b := sfs.Base(spath); b != "." && b != "/" && b != ".." {
				name = b
			}
		} else {
			if derr != nil && (strings.HasSuffix(dpath, "/") || strings.HasSuffix(dpath, `\`)) {
				return fmt.Errorf("target %s: %w", dst, derr)
			}
			parent, name = dfs.Dir(dpath), dfs.Base(dpath)
		}
		if info.IsDir() && !o.Recursive {
			return fmt.Errorf("%s is a directory: use -r to copy directories", src)
		}
		if err := c.top(sfs, spath, dfs, parent, name, info); err != nil {
			return err
		}
	}
	return nil
}

type copier struct {
	ctx     context.Context
	o       Options
	entries int // directory entries seen so far, bounded by maxTotalEntries
}

// top copies one command-line source to name in the directory parent of dfs.
func (c *copier) top(sfs source, spath string, dfs source, parent, name string, info fs.FileInfo) error {
	var (
		d   destDir
		err error
	)
	switch f := dfs.(type) {
	case *sftpFS:
		d = &sftpDir{fs: f, dir: parent}
	default:
		if d, err = openRootDir(parent); err != nil {
			return fmt.Errorf("cannot write %s: %w", display(dfs.Join(parent, name)), err)
		}
	}
	defer d.Close()
	if info.IsDir() {
		return c.dir(sfs, spath, d, name, info, 0)
	}
	return c.file(sfs, spath, d, name, info)
}

// errSizeReached stops a copy from a guest at the size the guest announced.
var errSizeReached = errors.New("announced size reached")

// sizeCap passes on at most left bytes, then fails with errSizeReached.
type sizeCap struct {
	w    io.Writer
	left int64
}

func (s *sizeCap) Write(p []byte) (int, error) {
	if int64(len(p)) <= s.left {
		n, err := s.w.Write(p)
		s.left -= int64(n)
		return n, err
	}
	n, err := s.w.Write(p[:s.left])
	s.left -= int64(n)
	if err == nil {
		err = errSizeReached
	}
	return n, err
}

func (c *copier) file(sfs source, src string, d destDir, name string, info fs.FileInfo) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("cannot copy %s: not a regular file (%s)", display(sfs.ID(src)), info.Mode().Type())
	}
	if sfs.ID(src) == d.ID(name) {
		return fmt.Errorf("cannot copy %s onto itself", display(sfs.ID(src)))
	}
	if st, err := d.Lstat(name); err == nil && st.IsDir() {
		return fmt.Errorf("cannot copy %s onto %s: it is a directory", display(sfs.ID(src)), display(d.ID(name)))
	}
	if c.o.Verbose {
		fmt.Fprintf(c.o.Out, "%s -> %s\n", display(sfs.ID(src)), display(d.ID(name)))
	}
	r, err := sfs.Open(src)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", display(sfs.ID(src)), err)
	}
	defer r.Close()
	w, err := d.Create(name, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", display(d.ID(name)), err)
	}
	var out io.Writer = w
	if sfs.Untrusted() {
		// A guest's file is copied up to the size it announced (as scp does), not for as long as
		// its server keeps sending.
		out = &sizeCap{w: w, left: info.Size()}
	}
	if _, err := io.Copy(out, r); err != nil && !errors.Is(err, errSizeReached) {
		w.Abort()
		return fmt.Errorf("copy %s to %s: %w", display(sfs.ID(src)), display(d.ID(name)), err)
	}
	if err := w.Commit(info.ModTime()); err != nil {
		return fmt.Errorf("cannot write %s: %w", display(d.ID(name)), err)
	}
	return nil
}

// validName reports whether a name from a directory listing may be used as one path element on
// either side: not empty, ".", ".." or absolute, no separator, no NUL, and on Windows none of the
// characters Windows forbids in names.
func validName(n string) bool {
	if n == "" || n == "." || n == ".." || !filepath.IsLocal(n) || strings.ContainsAny(n, "/\x00") {
		return false
	}
	if runtime.GOOS == "windows" {
		return !strings.ContainsFunc(n, func(r rune) bool { return r < 0x20 || strings.ContainsRune(`\:*?"<>|`, r) })
	}
	return true
}

// dir copies the directory src to name in d. A directory that already exists is filled but keeps
// its mode and times; a symbolic link at name is an error, never followed.
func (c *copier) dir(sfs source, src string, d destDir, name string, info fs.FileInfo, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("cannot copy %s: more than %d nested directories (a symbolic link loop?)", display(sfs.ID(src)), maxDepth)
	}
	if sfs.ID(src) == d.ID(name) {
		return fmt.Errorf("cannot copy %s onto itself", display(sfs.ID(src)))
	}
	var (
		created bool
		final   fs.FileMode
	)
	switch st, err := d.Lstat(name); {
	case err == nil && st.Mode()&fs.ModeSymlink != 0:
		return fmt.Errorf("cannot copy directory %s onto %s: it is a symbolic link, which limactl copy does not follow", display(sfs.ID(src)), display(d.ID(name)))
	case err == nil && !st.IsDir():
		return fmt.Errorf("cannot copy directory %s onto %s: not a directory", display(sfs.ID(src)), display(d.ID(name)))
	case err == nil:
	case errors.Is(err, fs.ErrNotExist):
		if final, err = d.Mkdir(name, info.Mode().Perm()); err != nil {
			return fmt.Errorf("cannot create directory %s: %w", display(d.ID(name)), err)
		}
		created = true
	default:
		return fmt.Errorf("cannot copy directory %s onto %s: %w", display(sfs.ID(src)), display(d.ID(name)), err)
	}
	sub, err := d.Sub(name)
	if err != nil {
		return fmt.Errorf("cannot write into %s: %w", display(d.ID(name)), err)
	}
	defer sub.Close()
	if c.o.Verbose {
		fmt.Fprintf(c.o.Out, "%s/ -> %s/\n", display(sfs.ID(src)), display(d.ID(name)))
	}
	names, err := sfs.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot list %s: %w", display(sfs.ID(src)), err)
	}
	if len(names) > maxDirEntries {
		return fmt.Errorf("cannot copy %s: it has more than %d entries", display(sfs.ID(src)), maxDirEntries)
	}
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if !validName(n) {
			logrus.Warnf("skipping an entry of %s named %q: not a valid file name", display(sfs.ID(src)), n)
			continue
		}
		if seen[n] {
			logrus.Warnf("skipping %q in %s: listed twice", n, display(sfs.ID(src)))
			continue
		}
		seen[n] = true
		if c.entries++; c.entries > maxTotalEntries {
			return fmt.Errorf("cannot copy %s: more than %d entries in all", display(sfs.ID(src)), maxTotalEntries)
		}
		s := sfs.Join(src, n)
		child, err := sfs.Stat(s)
		if err != nil {
			logrus.Warnf("skipping %s: %v", display(sfs.ID(s)), err) // e.g. a dangling symbolic link
			continue
		}
		switch {
		case child.IsDir():
			err = c.dir(sfs, s, sub, n, child, depth+1)
		case child.Mode().IsRegular():
			err = c.file(sfs, s, sub, n, child)
		default:
			logrus.Warnf("skipping %s: not a regular file (%s)", display(sfs.ID(s)), child.Mode().Type())
		}
		if err != nil {
			return err
		}
	}
	if !created {
		return nil
	}
	// Permissions and times last: a read-only directory must still receive its contents.
	if err := d.Chmod(name, final); err != nil {
		return fmt.Errorf("cannot set the permissions of %s: %w", display(d.ID(name)), err)
	}
	if err := d.Chtimes(name, info.ModTime()); err != nil {
		return fmt.Errorf("cannot set the modification time of %s: %w", display(d.ID(name)), err)
	}
	return nil
}
