package copytool

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"

	"github.com/pkg/sftp"
	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"
)

// maxDepth bounds directory recursion; following symbolic links can otherwise loop forever.
const maxDepth = 128

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

// Copy copies srcs to dst like cp/scp: with several sources dst must be an existing directory; a
// source copied onto an existing directory lands inside it under its own name. dial is called once
// per instance named in the locations.
func Copy(ctx context.Context, srcs []Location, dst Location, dial Dialer, o Options) (err error) {
	if len(srcs) == 0 {
		return errors.New("nothing to copy: give at least one source")
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	conns := map[string]fileSystem{}
	defer func() {
		for _, f := range conns {
			if s, ok := f.(sftpFS); ok {
				s.c.Close()
			}
		}
	}()
	fsFor := func(l Location) (fileSystem, string, error) {
		if l.IsLocal() {
			return localFS{}, l.Path, nil
		}
		if f, ok := conns[l.Instance]; ok {
			return f, guestPath(l.Path), nil
		}
		c, err := dial(ctx, l.Instance)
		if err != nil {
			return nil, "", err
		}
		s, err := NewSFTPClient(c)
		if err != nil {
			c.Close()
			return nil, "", err
		}
		go func() { _ = s.Wait(); c.Close() }()
		f := sftpFS{instance: l.Instance, c: s}
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
		target := dpath
		if dstIsDir {
			if b := sfs.Base(spath); b != "." && b != "/" && b != ".." {
				target = dfs.Join(dpath, b)
			}
		}
		if info.IsDir() {
			if !o.Recursive {
				return fmt.Errorf("%s is a directory: use -r to copy directories", src)
			}
			err = c.dir(sfs, spath, dfs, target, info, 0)
		} else {
			if derr != nil && (strings.HasSuffix(dpath, "/") || strings.HasSuffix(dpath, `\`)) {
				return fmt.Errorf("target %s: %w", dst, derr)
			}
			err = c.file(sfs, spath, dfs, target, info)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

type copier struct {
	ctx context.Context
	o   Options
}

func (c *copier) file(sfs fileSystem, src string, dfs fileSystem, dst string, info fs.FileInfo) error {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	if !info.Mode().IsRegular() {
		return fmt.Errorf("cannot copy %s: not a regular file (%s)", sfs.Display(src), info.Mode().Type())
	}
	if sfs.Display(src) == dfs.Display(dst) {
		return fmt.Errorf("cannot copy %s onto itself", sfs.Display(src))
	}
	if c.o.Verbose {
		fmt.Fprintf(c.o.Out, "%s -> %s\n", sfs.Display(src), dfs.Display(dst))
	}
	r, err := sfs.Open(src)
	if err != nil {
		return fmt.Errorf("cannot read %s: %w", sfs.Display(src), err)
	}
	defer r.Close()
	w, err := dfs.Create(dst, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("cannot write %s: %w", dfs.Display(dst), err)
	}
	if _, err := io.Copy(w, r); err != nil {
		w.Close()
		return fmt.Errorf("copy %s to %s: %w", sfs.Display(src), dfs.Display(dst), err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", dfs.Display(dst), err)
	}
	if err := dfs.Chtimes(dst, info.ModTime(), info.ModTime()); err != nil {
		return fmt.Errorf("cannot set the modification time of %s: %w", dfs.Display(dst), err)
	}
	return nil
}

func (c *copier) dir(sfs fileSystem, src string, dfs fileSystem, dst string, info fs.FileInfo, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("cannot copy %s: more than %d nested directories (a symbolic link loop?)", sfs.Display(src), maxDepth)
	}
	if sfs.Display(src) == dfs.Display(dst) {
		return fmt.Errorf("cannot copy %s onto itself", sfs.Display(src))
	}
	if dinfo, err := dfs.Stat(dst); err == nil {
		if !dinfo.IsDir() {
			return fmt.Errorf("cannot copy directory %s onto %s: not a directory", sfs.Display(src), dfs.Display(dst))
		}
	} else if err := dfs.Mkdir(dst, 0o700); err != nil {
		return fmt.Errorf("cannot create directory %s: %w", dfs.Display(dst), err)
	}
	if c.o.Verbose {
		fmt.Fprintf(c.o.Out, "%s/ -> %s/\n", sfs.Display(src), dfs.Display(dst))
	}
	names, err := sfs.ReadDir(src)
	if err != nil {
		return fmt.Errorf("cannot list %s: %w", sfs.Display(src), err)
	}
	for _, name := range names {
		s, d := sfs.Join(src, name), dfs.Join(dst, name)
		child, err := sfs.Stat(s)
		if err != nil {
			logrus.Warnf("skipping %s: %v", sfs.Display(s), err) // e.g. a dangling symbolic link
			continue
		}
		switch {
		case child.IsDir():
			err = c.dir(sfs, s, dfs, d, child, depth+1)
		case child.Mode().IsRegular():
			err = c.file(sfs, s, dfs, d, child)
		default:
			logrus.Warnf("skipping %s: not a regular file (%s)", sfs.Display(s), child.Mode().Type())
		}
		if err != nil {
			return err
		}
	}
	// Permissions and times last: a read-only directory must still receive its contents.
	if err := dfs.Chmod(dst, info.Mode().Perm()); err != nil {
		return fmt.Errorf("cannot set the permissions of %s: %w", dfs.Display(dst), err)
	}
	if err := dfs.Chtimes(dst, info.ModTime(), info.ModTime()); err != nil {
		return fmt.Errorf("cannot set the modification time of %s: %w", dfs.Display(dst), err)
	}
	return nil
}
