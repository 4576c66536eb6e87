package copytool

// A hostile guest: its SFTP server (a pkg/sftp request server over an in-memory pipe) answers with
// crafted listings, modes and contents. Whatever it sends, `limactl copy` from it must write only
// under the destination, follow no symbolic link on the host, apply the umask, and end.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"github.com/sirupsen/logrus"
	logtest "github.com/sirupsen/logrus/hooks/test"
)

// fakeInfo is a directory entry or a stat answer, with any name the guest likes.
type fakeInfo struct {
	name string
	size int64
	mode fs.FileMode
}

func (i fakeInfo) Name() string       { return i.name }
func (i fakeInfo) Size() int64        { return i.size }
func (i fakeInfo) Mode() fs.FileMode  { return i.mode }
func (i fakeInfo) ModTime() time.Time { return mtime }
func (i fakeInfo) IsDir() bool        { return i.mode.IsDir() }
func (i fakeInfo) Sys() any           { return nil }

// hostileGuest is a guest file system described by functions of the (cleaned, absolute) path.
type hostileGuest struct {
	stat  func(p string) (fakeInfo, error)    // Stat (follows links, as the client asks)
	list  func(p string) sftp.ListerAt        // directory listing
	read  func(p string) (io.ReaderAt, error) // file content
	lstat func(p string) (fakeInfo, error)    // Lstat; nil: like stat
}

func (g *hostileGuest) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "List":
		if g.list == nil {
			return nil, os.ErrNotExist
		}
		return g.list(r.Filepath), nil
	case "Stat":
		fi, err := g.stat(r.Filepath)
		if err != nil {
			return nil, err
		}
		return listOf{fi}, nil
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

func (g *hostileGuest) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	st := g.lstat
	if st == nil {
		st = g.stat
	}
	fi, err := st(r.Filepath)
	if err != nil {
		return nil, err
	}
	return listOf{fi}, nil
}

func (g *hostileGuest) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	if g.read == nil {
		return nil, os.ErrPermission
	}
	return g.read(r.Filepath)
}

func (g *hostileGuest) Filewrite(*sftp.Request) (io.WriterAt, error) { return nil, os.ErrPermission }
func (g *hostileGuest) Filecmd(*sftp.Request) error                  { return os.ErrPermission }

// listOf lists infos once.
type listOf []os.FileInfo

func (l listOf) ListAt(ls []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(ls, l[off:])
	if off+int64(n) == int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// endlessList lists entry(i) for i = 0, 1, ... and never reaches the end.
type endlessList func(i int64) os.FileInfo

func (l endlessList) ListAt(ls []os.FileInfo, off int64) (int, error) {
	for i := range ls {
		ls[i] = l(off + int64(i))
	}
	return len(ls), nil
}

// endlessReader serves 'x' at every offset: a file that never ends, whatever its size says.
type endlessReader struct{}

func (endlessReader) ReadAt(p []byte, _ int64) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func file(name string, size int64) fakeInfo { return fakeInfo{name: name, size: size, mode: 0o644} }
func dir(name string) fakeInfo              { return fakeInfo{name: name, mode: fs.ModeDir | 0o755} }

// contentOf serves each file's own path as its content.
func contentOf(p string) (io.ReaderAt, error) { return strings.NewReader("from " + p), nil }

// sizeOfContent is the size contentOf serves for p.
func sizeOfContent(p string) int64 { return int64(len("from " + p)) }

// copyFromHostile copies vm:src to the host path dst, the guest being g. The copy must end within
// a minute; on a hang the pipe is closed and the test fails.
func copyFromHostile(t *testing.T, g *hostileGuest, src, dst string, o Options) error {
	t.Helper()
	serverConn, clientConn := net.Pipe()
	srv := sftp.NewRequestServer(serverConn, sftp.Handlers{FileGet: g, FilePut: g, FileCmd: g, FileList: g})
	go func() { _ = srv.Serve() }()
	t.Cleanup(func() { _ = srv.Close(); _ = clientConn.Close() })
	open := func(ctx context.Context, instance string) (sftpStream, error) {
		return sftpStream{r: clientConn, w: clientConn, close: func() { _ = clientConn.Close() }}, nil
	}
	done := make(chan error, 1)
	go func() {
		done <- copyVia(context.Background(), []Location{{Instance: "vm", Path: src}}, Location{Path: dst}, open, o)
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(time.Minute):
		_ = serverConn.Close()
		_ = clientConn.Close()
		t.Fatalf("copy from a hostile guest did not end within a minute (it hangs)")
		return nil
	}
}

// snapshot lists every path under root as "path mode [content]", skipping the subtree skip.
func snapshot(t *testing.T, root, skip string) []string {
	t.Helper()
	var res []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		line := p + " " + info.Mode().String()
		if info.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			line += " " + string(b)
		}
		res = append(res, line)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// hostileSetup makes outer/dest (the destination) next to outer/outside (what must not change).
func hostileSetup(t *testing.T) (outer, dest string) {
	t.Helper()
	outer = t.TempDir()
	dest = filepath.Join(outer, "dest")
	for _, d := range []string{dest, filepath.Join(outer, "outside")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outer, "outside", "precious"), []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	return outer, dest
}

// assertOutsideUnchanged fails when anything outside dest differs from before.
func assertOutsideUnchanged(t *testing.T, outer, dest string, before []string) {
	t.Helper()
	if after := snapshot(t, outer, dest); !slices.Equal(before, after) {
		t.Errorf("the copy changed files outside the destination:\nbefore %q\nafter  %q", before, after)
	}
}

func lowerLimits(t *testing.T, dirEntries, total int, listBytes int64) {
	t.Helper()
	oldDir, oldTotal, oldBytes := maxDirEntries, maxTotalEntries, maxListBytes
	maxDirEntries, maxTotalEntries, maxListBytes = dirEntries, total, listBytes
	t.Cleanup(func() { maxDirEntries, maxTotalEntries, maxListBytes = oldDir, oldTotal, oldBytes })
}

// TestHostileNames: the guest lists names that climb out, are absolute, hold separators, are empty,
// "." or "..", hold NUL or escape sequences, or repeat. pkg/sftp's client already reduces each name
// to its last element (path.Base), so "../../escape" arrives as "escape", which is a fine name
// inside the destination; "" arrives as ".", which today's code recursed into (the directory
// itself) until its depth limit and then failed the whole copy.
func TestHostileNames(t *testing.T) {
	outer, dest := hostileSetup(t)
	before := snapshot(t, outer, dest)
	names := []string{"../../escape", "/abs", "a/b", "", ".", "..", "nul\x00byte", "ok", "ok", "\x1b]0;pwned\x07title", "sub"}
	g := &hostileGuest{
		stat: func(p string) (fakeInfo, error) {
			switch {
			case p == "/g/d" || path.Base(p) == "sub":
				return dir(path.Base(p)), nil
			case strings.HasPrefix(p, "/g/d/"):
				return file(path.Base(p), sizeOfContent(p)), nil
			}
			return fakeInfo{}, os.ErrNotExist
		},
		list: func(p string) sftp.ListerAt {
			var l listOf
			if path.Base(p) == "sub" {
				return listOf{file("../../../escape2", 1)}
			}
			for _, n := range names {
				if n == "sub" {
					l = append(l, dir(n))
				} else {
					l = append(l, file(n, 1))
				}
			}
			return l
		},
		read: contentOf,
	}
	hook := logtest.NewGlobal()
	defer hook.Reset()
	if err := copyFromHostile(t, g, "/g/d", dest, Options{Recursive: true}); err != nil {
		t.Fatalf("copy: %v", err)
	}
	assertOutsideUnchanged(t, outer, dest, before)
	var got []string
	_ = filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err == nil && p != dest {
			rel, _ := filepath.Rel(dest, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	want := []string{"d", "d/abs", "d/b", "d/escape", "d/ok", "d/sub", "d/sub/escape2", "d/\x1b]0;pwned\x07title"}
	if runtime.GOOS == "windows" {
		want = slices.DeleteFunc(want, func(s string) bool { return strings.ContainsRune(s, 0x1b) })
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("destination holds %q, want %q", got, want)
	}
	var warnings []string
	for _, e := range hook.AllEntries() {
		if e.Level == logrus.WarnLevel {
			warnings = append(warnings, e.Message)
		}
	}
	joined := strings.Join(warnings, "\n")
	for _, w := range []string{`"nul\x00byte": not a valid file name`, `"ok" in vm:/g/d: listed twice`} {
		if !strings.Contains(joined, w) {
			t.Errorf("warnings %q do not mention %s", warnings, w)
		}
	}
	if strings.ContainsAny(joined, "\x1b\x07\x00") {
		t.Errorf("warnings carry control characters to the terminal: %q", warnings)
	}
}

// TestHostileDestinationSymlinks: the destination already holds symbolic links pointing out of it,
// under names the guest then sends. Today's code wrote through the file link (overwriting the file
// outside) and descended through the directory link (planting a file outside).
func TestHostileDestinationSymlinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symbolic links need privileges on Windows")
	}
	outer, dest := hostileSetup(t)
	d := filepath.Join(dest, "d")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{"flink": "../../outside/precious", "dlink": "../../outside", "abslink": filepath.Join(outer, "outside")} {
		if err := os.Symlink(target, filepath.Join(d, link)); err != nil {
			t.Fatal(err)
		}
	}
	before := snapshot(t, outer, dest)
	for _, tc := range []struct {
		entry   fakeInfo
		wantErr string
	}{
		{file("flink", 4), ""},
		{dir("dlink"), "symbolic link"},
		{dir("abslink"), "symbolic link"},
	} {
		g := &hostileGuest{
			stat: func(p string) (fakeInfo, error) {
				switch p {
				case "/g/d":
					return dir("d"), nil
				case "/g/d/" + tc.entry.name:
					return tc.entry, nil
				case "/g/d/" + tc.entry.name + "/planted":
					return file("planted", 4), nil
				}
				return fakeInfo{}, os.ErrNotExist
			},
			list: func(p string) sftp.ListerAt {
				if p == "/g/d" {
					return listOf{tc.entry}
				}
				return listOf{file("planted", 4)}
			},
			read: func(string) (io.ReaderAt, error) { return strings.NewReader("evil"), nil },
		}
		err := copyFromHostile(t, g, "/g/d", dest, Options{Recursive: true})
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: copy error = %v, want %q", tc.entry.name, err, tc.wantErr)
		}
		assertOutsideUnchanged(t, outer, dest, before)
	}
	if fi, err := os.Lstat(filepath.Join(d, "flink")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("flink: %v, %v; want a regular file that replaced the link", fi, err)
	}
}

// umask returns the process's umask, measured by creating a file.
func umask(t *testing.T) fs.FileMode {
	t.Helper()
	p := filepath.Join(t.TempDir(), "probe")
	f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY, 0o777)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	return 0o777 &^ mustStat(t, p).Mode().Perm()
}

// TestHostileModes: the guest asks for world-writable, setuid and sticky modes and for a new mode on
// a directory that already exists on the host. Today's code applied the guest's bits verbatim
// (ignoring the umask) and changed the existing directory's mode.
func TestHostileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows has no Unix permission bits")
	}
	_, dest := hostileSetup(t)
	d := filepath.Join(dest, "d")
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	g := &hostileGuest{
		stat: func(p string) (fakeInfo, error) {
			switch p {
			case "/g/d":
				return fakeInfo{name: "d", mode: fs.ModeDir | 0o777}, nil
			case "/g/d/suid":
				return fakeInfo{name: "suid", size: sizeOfContent(p), mode: fs.ModeSetuid | fs.ModeSetgid | 0o777}, nil
			case "/g/d/new":
				return fakeInfo{name: "new", mode: fs.ModeDir | fs.ModeSticky | fs.ModeSetgid | 0o777}, nil
			}
			return fakeInfo{}, os.ErrNotExist
		},
		list: func(p string) sftp.ListerAt {
			if p == "/g/d" {
				return listOf{file("suid", 1), dir("new")}
			}
			return listOf{}
		},
		read: contentOf,
	}
	if err := copyFromHostile(t, g, "/g/d", dest, Options{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	want := 0o777 &^ umask(t)
	if m := mustStat(t, d).Mode(); m != fs.ModeDir|0o700 {
		t.Errorf("existing directory d: mode %v, want it kept (drwx------)", m)
	}
	if m := mustStat(t, filepath.Join(d, "suid")).Mode(); m != want {
		t.Errorf("suid: mode %v, want %v (the guest's 0777 under the umask, no setuid/setgid)", m, want)
	}
	if m := mustStat(t, filepath.Join(d, "new")).Mode(); m != fs.ModeDir|want {
		t.Errorf("new: mode %v, want %v (no sticky/setgid bit)", m, fs.ModeDir|want)
	}
}

// TestHostileEndless: listings and files that never end, trees without a bottom, directories with
// too many entries. Each copy must end with an error that names the limit (or, for a file that
// keeps going past its size, copy the size it announced). Today's code hung on all but the second
// (which it copied in full) and the bottomless tree (its depth limit held).
func TestHostileEndless(t *testing.T) {
	lowerLimits(t, 1000, 5000, 1<<20)
	entry := func(i int64) os.FileInfo { return file(fmt.Sprintf("f%09d", i), 1) }
	anyFile := func(p string) (fakeInfo, error) {
		if p == "/g/d" {
			return dir("d"), nil
		}
		return file(path.Base(p), 1), nil
	}
	for _, tc := range []struct {
		name    string
		g       *hostileGuest
		wantErr string
	}{
		{"endless listing", &hostileGuest{stat: anyFile, list: func(string) sftp.ListerAt { return endlessList(entry) }, read: contentOf},
			"listing of vm:/g/d"},
		{"too many entries", &hostileGuest{stat: anyFile, list: func(string) sftp.ListerAt {
			var l listOf
			for i := range int64(1500) {
				l = append(l, entry(i))
			}
			return l
		}, read: contentOf}, "more than 1000 entries"},
		{"bottomless tree", &hostileGuest{
			stat: func(p string) (fakeInfo, error) { return dir(path.Base(p)), nil },
			list: func(string) sftp.ListerAt { return listOf{dir("a")} },
		}, "more than 128 nested directories"},
		{"bushy tree", &hostileGuest{ // 10^8 directories, each within the depth limit
			stat: func(p string) (fakeInfo, error) { return dir(path.Base(p)), nil },
			list: func(p string) sftp.ListerAt {
				if strings.Count(p, "/") > 10 {
					return listOf{}
				}
				var l listOf
				for i := range 10 {
					l = append(l, dir(strconv.Itoa(i)))
				}
				return l
			},
		}, "more than 5000 entries in all"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			outer, dest := hostileSetup(t)
			before := snapshot(t, outer, dest)
			err := copyFromHostile(t, tc.g, "/g/d", dest, Options{Recursive: true})
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("copy error = %v, want one containing %q", err, tc.wantErr)
			}
			assertOutsideUnchanged(t, outer, dest, before)
		})
	}
	t.Run("endless file", func(t *testing.T) {
		_, dest := hostileSetup(t)
		g := &hostileGuest{
			stat: func(p string) (fakeInfo, error) { return file("big", 100_000), nil },
			read: func(string) (io.ReaderAt, error) { return endlessReader{}, nil },
		}
		if err := copyFromHostile(t, g, "/g/big", dest, Options{}); err != nil {
			t.Fatal(err)
		}
		if fi := mustStat(t, filepath.Join(dest, "big")); fi.Size() != 100_000 {
			t.Errorf("big: %d bytes, want the 100000 its size announced", fi.Size())
		}
	})
}

// TestHostileGuestSymlinks: a guest entry that is a symbolic link (to the guest's /etc/passwd) is
// followed in the guest, as scp does, and lands on the host as a regular file; one that cannot be
// followed (a loop) is skipped with a warning. No symbolic link is ever created on the host.
func TestHostileGuestSymlinks(t *testing.T) {
	outer, dest := hostileSetup(t)
	before := snapshot(t, outer, dest)
	g := &hostileGuest{
		stat: func(p string) (fakeInfo, error) {
			switch p {
			case "/g/d":
				return dir("d"), nil
			case "/g/d/passwd":
				return file("passwd", sizeOfContent("/etc/passwd")), nil
			}
			return fakeInfo{}, errors.New("too many levels of symbolic links")
		},
		list: func(string) sftp.ListerAt {
			return listOf{fakeInfo{name: "passwd", mode: fs.ModeSymlink | 0o777}, fakeInfo{name: "loop", mode: fs.ModeSymlink | 0o777}}
		},
		read: func(p string) (io.ReaderAt, error) { return contentOf("/etc/passwd") },
	}
	if err := copyFromHostile(t, g, "/g/d", dest, Options{Recursive: true}); err != nil {
		t.Fatal(err)
	}
	assertOutsideUnchanged(t, outer, dest, before)
	fi, err := os.Lstat(filepath.Join(dest, "d", "passwd"))
	if err != nil || !fi.Mode().IsRegular() {
		t.Fatalf("passwd: %v, %v; want a regular file", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(dest, "d", "passwd")); string(b) != "from /etc/passwd" {
		t.Errorf("passwd = %q", b)
	}
	if _, err := os.Lstat(filepath.Join(dest, "d", "loop")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("loop: %v, want it skipped", err)
	}
}
