package reversesshfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
)

// The guest plays against the folder's walls with pkg/sftp's client. The server is the same for
// every mount: sshfs.followSymlinks only makes the guest's sshfs send STAT (which follows links)
// instead of LSTAT, and open paths that go through links, so Stat and Open here are what a mount
// with followSymlinks asks for.

const secret = "SECRET host file"

// escapeTree makes dir/outside (a host folder the guest must not reach, holding secret.txt) and
// dir/share (the served folder) with links inside and out. It returns share and outside.
func escapeTree(t testing.TB) (share, outside string) {
	t.Helper()
	dir := t.TempDir()
	share, outside = filepath.Join(dir, "share"), filepath.Join(dir, "outside")
	for _, d := range []string{filepath.Join(share, "sub"), outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		filepath.Join(outside, "secret.txt"): secret,
		filepath.Join(share, "in.txt"):       "inside",
		filepath.Join(share, "sub", "f.txt"): "sub file",
	}
	for p, s := range files {
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs":     outside,                                // absolute, out
		"rel":     "../../../../../../../../" + outside,   // relative, climbing to / and down
		"up":      "../outside",                           // relative, one level out
		"absfile": filepath.Join(outside, "secret.txt"),   // absolute, to a file out
		"relfile": "../outside/secret.txt",                // relative, to a file out
		"inabs":   filepath.Join(share, "sub"),            // absolute, inside
		"inrel":   "sub",                                  // relative, inside
		"back":    "../share/sub",                         // out and back in by the folder's name
		"chain":   "inabs/f.txt",                          // a link through a link, inside
		"loop":    "loop",                                 // itself
		"sub/up2": "../../outside/secret.txt",             // deeper, out
		"sub/in2": filepath.Join(share, "in.txt"),         // deeper, absolute, inside
		"dangle":  filepath.Join(outside, "nothing-here"), // absolute, out, to nothing
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(share, name)); err != nil {
			t.Fatal(err)
		}
	}
	return share, outside
}

// refused reports whether err is the clean refusal the guest must get.
func refused(err error) bool {
	return errors.Is(err, os.ErrPermission) || errors.Is(err, os.ErrNotExist)
}

// checkOutside fails the test when the outside folder changed in any way: it holds secret.txt
// and the files named in more, as they were.
func checkOutside(t *testing.T, outside string, more ...string) {
	t.Helper()
	entries, err := os.ReadDir(outside)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := append([]string{"secret.txt"}, more...)
	if slices.Sort(want); err != nil || !slices.Equal(names, want) {
		t.Errorf("the outside folder changed: %v, %v", names, err)
	}
	fi, err := os.Stat(filepath.Join(outside, "secret.txt"))
	if b, _ := os.ReadFile(filepath.Join(outside, "secret.txt")); string(b) != secret || err != nil || fi.Mode() != 0o644 {
		t.Errorf("the outside secret changed: %q, %v, %v", b, fi, err)
	}
}

func readAll(c *sftp.Client, p string) (string, error) {
	f, err := c.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	return string(b), err
}

// Links that leave the folder, absolute or relative, are never followed: reading, writing,
// stating, listing, creating, changing through them fails cleanly.
func TestSymlinksOut(t *testing.T) {
	share, outside := escapeTree(t)
	c := serve(t, share, false)
	j := func(elem ...string) string { return filepath.Join(append([]string{share}, elem...)...) }
	for _, l := range []string{"abs", "rel", "up"} {
		if fi, err := c.Stat(j(l)); !refused(err) {
			t.Errorf("stat %s: %v, %v", l, fi, err)
		}
		if fi, err := c.Lstat(j(l)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("lstat %s: the link itself should show: %v, %v", l, fi, err)
		}
		if s, err := readAll(c, j(l, "secret.txt")); !refused(err) {
			t.Errorf("read %s/secret.txt: %q, %v", l, s, err)
		}
		if fi, err := c.Stat(j(l, "secret.txt")); !refused(err) {
			t.Errorf("stat %s/secret.txt: %v, %v", l, fi, err)
		}
		if list, err := c.ReadDir(j(l)); !refused(err) {
			t.Errorf("readdir %s: %v, %v", l, list, err)
		}
		if f, err := c.Create(j(l, "new")); !refused(err) {
			_ = f.Close()
			t.Errorf("create %s/new: %v", l, err)
		}
		if f, err := c.OpenFile(j(l, "secret.txt"), os.O_WRONLY|os.O_TRUNC); !refused(err) {
			_ = f.Close()
			t.Errorf("open %s/secret.txt for writing: %v", l, err)
		}
		if err := c.Mkdir(j(l, "d")); !refused(err) {
			t.Errorf("mkdir %s/d: %v", l, err)
		}
		if err := c.Remove(j(l, "secret.txt")); !refused(err) {
			t.Errorf("remove %s/secret.txt: %v", l, err)
		}
		if err := c.Symlink("x", j(l, "newlink")); !refused(err) {
			t.Errorf("symlink in %s: %v", l, err)
		}
		if err := c.Chmod(j(l, "secret.txt"), 0o777); !refused(err) {
			t.Errorf("chmod %s/secret.txt: %v", l, err)
		}
	}
	for _, l := range []string{"absfile", "relfile", "sub/up2", "dangle"} {
		if s, err := readAll(c, j(l)); !refused(err) {
			t.Errorf("read %s: %q, %v", l, s, err)
		}
		if fi, err := c.Stat(j(l)); !refused(err) {
			t.Errorf("stat %s: %v, %v", l, fi, err)
		}
		if f, err := c.OpenFile(j(l), os.O_WRONLY|os.O_CREATE|os.O_TRUNC); !refused(err) {
			_ = f.Close()
			t.Errorf("open %s for writing: %v", l, err)
		}
		if f, err := c.OpenFile(j(l), os.O_WRONLY|os.O_APPEND); !refused(err) {
			_ = f.Close()
			t.Errorf("open %s for appending: %v", l, err)
		}
		if err := c.Chmod(j(l), 0o777); !refused(err) {
			t.Errorf("chmod %s: %v", l, err)
		}
		if err := c.Truncate(j(l), 0); !refused(err) {
			t.Errorf("truncate %s: %v", l, err)
		}
	}
	if fi, err := c.Stat(j("loop")); err == nil {
		t.Errorf("stat of a self link: %v", fi)
	}
	// Removing or renaming a link that points out touches the link, not its target.
	if err := c.Remove(j("absfile")); err != nil {
		t.Errorf("remove the link absfile: %v", err)
	}
	if err := c.Rename(j("relfile"), j("relfile2")); err != nil {
		t.Errorf("rename the link relfile: %v", err)
	}
	// Reading a link's text is fine: it says where it points and gives nothing from there.
	if target, err := c.ReadLink(j("abs")); err != nil || target != outside {
		t.Errorf("readlink abs = %q, %v", target, err)
	}
	checkOutside(t, outside)
}

// Links that stay inside work, including absolute ones (the guest names host paths) and relative
// ones that climb out and come back in by the folder's own name.
func TestSymlinksInside(t *testing.T) {
	share, outside := escapeTree(t)
	c := serve(t, share, false)
	j := func(elem ...string) string { return filepath.Join(append([]string{share}, elem...)...) }
	for _, p := range []string{"inabs/f.txt", "inrel/f.txt", "back/f.txt", "chain"} {
		if s, err := readAll(c, j(p)); err != nil || s != "sub file" {
			t.Errorf("read %s: %q, %v", p, s, err)
		}
		if fi, err := c.Stat(j(p)); err != nil || fi.Size() != int64(len("sub file")) {
			t.Errorf("stat %s: %v, %v", p, fi, err)
		}
	}
	if s, err := readAll(c, j("sub/in2")); err != nil || s != "inside" {
		t.Errorf("read sub/in2: %q, %v", s, err)
	}
	for _, p := range []string{"inabs", "inrel", "back"} {
		if list, err := c.ReadDir(j(p)); err != nil || len(list) != 3 {
			t.Errorf("readdir %s: %v, %v", p, list, err)
		}
		if fi, err := c.Stat(j(p)); err != nil || !fi.IsDir() {
			t.Errorf("stat %s: %v, %v", p, fi, err)
		}
	}
	// Writing, creating and changing through them.
	f, err := c.Create(j("inabs", "new.txt"))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.Write([]byte("via link"))
	_ = f.Close()
	if b, _ := os.ReadFile(filepath.Join(share, "sub", "new.txt")); string(b) != "via link" {
		t.Errorf("create through inabs wrote %q", b)
	}
	if err := c.Mkdir(j("back", "d")); err != nil {
		t.Error(err)
	}
	if err := c.Chmod(j("inabs", "new.txt"), 0o600); err != nil {
		t.Error(err)
	}
	if err := c.PosixRename(j("inabs", "new.txt"), j("back", "renamed.txt")); err != nil {
		t.Error(err)
	}
	if err := c.Link(j("inabs", "renamed.txt"), j("inrel", "hard.txt")); err != nil {
		t.Error(err)
	}
	if s, err := readAll(c, j("sub", "hard.txt")); err != nil || s != "via link" {
		t.Errorf("read the hard link: %q, %v", s, err)
	}
	checkOutside(t, outside)
}

// A hard link to a file outside, by its name or through a link, is never made.
func TestHardLinkOut(t *testing.T) {
	share, outside := escapeTree(t)
	c := serve(t, share, false)
	secretPath := filepath.Join(outside, "secret.txt")
	for i, old := range []string{secretPath, share + "/../outside/secret.txt", share + "/abs/secret.txt", share + "/up/secret.txt", share + "/rel/secret.txt"} {
		newp := filepath.Join(share, "hl"+string(rune('0'+i)))
		if err := c.Link(old, newp); !refused(err) {
			t.Errorf("link %s: %v", old, err)
		}
	}
	// A hard link to a link that points out is a second name for the link, which stays unfollowed.
	if err := c.Link(share+"/absfile", share+"/hl-link"); err == nil {
		if fi, err := os.Lstat(filepath.Join(share, "hl-link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("hard link to absfile: %v, %v", fi, err)
		}
		if s, err := readAll(c, share+"/hl-link"); !refused(err) {
			t.Errorf("read through it: %q, %v", s, err)
		}
	}
	// The new name cannot be outside either.
	if err := c.Link(share+"/in.txt", filepath.Join(outside, "planted")); !refused(err) {
		t.Errorf("link to outside: %v", err)
	}
	if err := c.Link(share+"/in.txt", share+"/abs/planted"); !refused(err) {
		t.Errorf("link through abs: %v", err)
	}
	secretFI, _ := os.Stat(secretPath)
	_ = filepath.Walk(share, func(p string, fi os.FileInfo, err error) error {
		if err == nil && os.SameFile(fi, secretFI) {
			t.Errorf("%s is the outside file", p)
		}
		return nil
	})
	checkOutside(t, outside)
}

// Renames cannot move a file out of the folder or into it from outside, by name or through links.
func TestRenameAcrossRoot(t *testing.T) {
	share, outside := escapeTree(t)
	c := serve(t, share, false)
	for _, tc := range [][2]string{
		{share + "/in.txt", filepath.Join(outside, "moved")},
		{share + "/in.txt", share + "/../outside/moved"},
		{share + "/in.txt", share + "/abs/moved"},
		{share + "/in.txt", share + "/up/moved"},
		{filepath.Join(outside, "secret.txt"), share + "/stolen"},
		{share + "/abs/secret.txt", share + "/stolen"},
		{share + "/rel/secret.txt", share + "/sub/stolen"},
		{share + "/up/secret.txt", share + "/stolen"},
	} {
		if err := c.Rename(tc[0], tc[1]); !refused(err) {
			t.Errorf("rename %s %s: %v", tc[0], tc[1], err)
		}
		if err := c.PosixRename(tc[0], tc[1]); !refused(err) {
			t.Errorf("posix-rename %s %s: %v", tc[0], tc[1], err)
		}
	}
	if _, err := os.Stat(filepath.Join(share, "in.txt")); err != nil {
		t.Errorf("in.txt moved: %v", err)
	}
	// A plain RENAME refuses an existing target (as the protocol says); posix-rename replaces it.
	if err := c.Rename(share+"/in.txt", share+"/sub/f.txt"); err == nil {
		t.Error("RENAME replaced an existing file")
	}
	if err := c.PosixRename(share+"/in.txt", share+"/sub/f.txt"); err != nil {
		t.Error(err)
	}
	checkOutside(t, outside)
}

// A directory the guest swaps for a link to the outside while the server works on paths through
// it: however the swaps and the reads interleave, nothing from outside is ever read.
func TestSwapDirForLinkRace(t *testing.T) {
	share, outside := escapeTree(t)
	if err := os.WriteFile(filepath.Join(outside, "f.txt"), []byte(secret), 0o644); err != nil {
		t.Fatal(err)
	}
	dir, real := filepath.Join(share, "d"), filepath.Join(share, "d.real")
	links := []string{filepath.Join(share, "d.abs"), filepath.Join(share, "d.rel")}
	if err := os.Mkdir(real, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(real, "f.txt"), []byte("inside"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, links[0]); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../outside", links[1]); err != nil {
		t.Fatal(err)
	}
	c := serve(t, share, false)
	const reads = 3000
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			// d is the real directory for a while, then a link to outside (absolute, then
			// relative) for as long, each moved in and out with rename(2).
			for _, other := range []string{real, links[i%2]} {
				_ = os.Rename(other, dir)
				time.Sleep(50 * time.Microsecond)
				_ = os.Rename(dir, other)
			}
		}
	}()
	defer func() { close(stop); wg.Wait() }()
	var got, refusedN int
	for range reads {
		s, err := readAll(c, dir+"/f.txt")
		if err == nil {
			got++
		} else {
			refusedN++
		}
		if strings.Contains(s, "SECRET") {
			t.Fatalf("read %q from outside through a swapped link", s)
		}
		if fi, err := c.Stat(dir + "/f.txt"); err == nil && fi.Size() == int64(len(secret)) {
			t.Fatalf("stat reached the outside file through a swapped link")
		}
	}
	t.Logf("%d reads of the inside file, %d refused or missing", got, refusedN)
	checkOutside(t, outside, "f.txt")
}

// Append (echo a >> f twice) through the client, and the mode of chmod.
func TestAppendAndChmod(t *testing.T) {
	root := t.TempDir()
	c := serve(t, root, false)
	p := filepath.Join(root, "log")
	for _, line := range []string{"a\n", "b\n"} {
		f, err := c.OpenFile(p, os.O_WRONLY|os.O_APPEND|os.O_CREATE)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Write([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if b, _ := os.ReadFile(p); string(b) != "a\nb\n" {
		t.Errorf("log holds %q", b)
	}
	if err := c.Chmod(p, 0o4755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode() != 0o755 {
		t.Errorf("chmod 4755 gave %v", fi.Mode())
	}
}

// A read-only mount refuses every write-type request with "permission denied" and changes nothing.
func TestReadOnlyRefusesWrites(t *testing.T) {
	root := t.TempDir()
	f, d := filepath.Join(root, "f"), filepath.Join(root, "d")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	c := serve(t, root, true)
	denied := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, os.ErrPermission) {
			t.Errorf("%s on a read-only mount: %v, want permission denied", what, err)
		}
	}
	for name, flags := range map[string]int{
		"create": os.O_WRONLY | os.O_CREATE, "write": os.O_WRONLY, "read-write": os.O_RDWR,
		"append": os.O_WRONLY | os.O_APPEND, "trunc": os.O_RDONLY | os.O_TRUNC, "excl": os.O_WRONLY | os.O_CREATE | os.O_EXCL,
	} {
		for _, p := range []string{f, filepath.Join(root, "new")} {
			h, err := c.OpenFile(p, flags)
			if err == nil {
				_ = h.Close()
			}
			denied("open "+name, err)
		}
	}
	denied("chmod", c.Chmod(f, 0o600))
	denied("chown", c.Chown(f, 0, 0))
	denied("chtimes", c.Chtimes(f, fiTime(t, f), fiTime(t, f)))
	denied("truncate", c.Truncate(f, 0))
	denied("mkdir", c.Mkdir(filepath.Join(root, "d2")))
	denied("remove", c.Remove(f))
	denied("rmdir", c.RemoveDirectory(d))
	denied("rename", c.Rename(f, filepath.Join(root, "g")))
	denied("posix-rename", c.PosixRename(f, filepath.Join(root, "g")))
	denied("symlink", c.Symlink("f", filepath.Join(root, "l")))
	denied("link", c.Link(f, filepath.Join(root, "l")))
	// Through a handle opened for reading.
	h, err := c.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	denied("fchmod", h.Chmod(0o600))
	denied("ftruncate", h.Truncate(0))
	_ = h.Close()
	// Raw: WRITE on a read handle, an extension nobody knows.
	rc := newRaw(t, root, true)
	rh := rc.handle(f, fxfRead, noAttrs)
	if code := rc.status(pkt(fxpWrite, 1, rh, uint64(0), "y")); code != fxPermissionDenied {
		t.Errorf("WRITE on a read-only mount: status %d", code)
	}
	if code := rc.status(pkt(fxpExtended, 1, "copy-data", rh, uint64(0), uint64(1), rh, uint64(0))); code != fxPermissionDenied {
		t.Errorf("unknown extension on a read-only mount: status %d", code)
	}
	if code := rc.status(pkt(fxpOpen, 1, f, fxfRead|fxfTrunc, noAttrs)); code != fxPermissionDenied {
		t.Errorf("OPEN with TRUNC on a read-only mount: status %d", code)
	}
	if b, _ := os.ReadFile(f); string(b) != "x" {
		t.Errorf("f holds %q", b)
	}
	entries, _ := os.ReadDir(root)
	if fi, _ := os.Stat(f); len(entries) != 2 || fi.Mode() != 0o644 {
		t.Errorf("the folder changed: %v, %v", entries, fi.Mode())
	}
}

func fiTime(t *testing.T, p string) time.Time {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.ModTime()
}
