package reversesshfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pkg/sftp"
)

// serve starts a server for root over an in-memory connection and returns a client.
func serve(t *testing.T, root string, readOnly bool) *sftp.Client {
	t.Helper()
	conn := pipeServer(t, root, readOnly)
	c, err := sftp.NewClientPipe(conn, conn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRootedFS(t *testing.T) {
	dir := t.TempDir()
	root := filepath.Join(dir, "share with space")
	if err := os.MkdirAll(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "hello.txt"), []byte("hello\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "share with space2"), []byte("no"), 0o644); err != nil {
		t.Fatal(err)
	}

	c := serve(t, root, false)
	f, err := c.Open(filepath.Join(root, "hello.txt"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	_ = f.Close()
	if string(b) != "hello\n" {
		t.Errorf("read %q", b)
	}
	// Paths outside root, however spelled, are refused.
	for _, p := range []string{filepath.Join(dir, "secret"), root + "/../secret", root + "2", "/etc/passwd", "../secret"} {
		if _, err := c.Stat(p); !errors.Is(err, os.ErrPermission) {
			t.Errorf("stat %s: err = %v, want permission denied", p, err)
		}
	}
	if _, err := c.ReadDir(dir); !errors.Is(err, os.ErrPermission) {
		t.Errorf("listing the parent: %v, want permission denied", err)
	}
	// Writes, renames, links, chmod, mkdir inside root work.
	w, err := c.Create(filepath.Join(root, "sub", "new.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("from the guest")); err != nil {
		t.Fatal(err)
	}
	_ = w.Close()
	if b, _ := os.ReadFile(filepath.Join(root, "sub", "new.txt")); string(b) != "from the guest" {
		t.Errorf("written file holds %q", b)
	}
	if err := c.PosixRename(filepath.Join(root, "sub", "new.txt"), filepath.Join(root, "renamed.txt")); err != nil {
		t.Error(err)
	}
	if err := c.Symlink("renamed.txt", filepath.Join(root, "link")); err != nil {
		t.Error(err)
	}
	if got, err := c.ReadLink(filepath.Join(root, "link")); err != nil || got != "renamed.txt" {
		t.Errorf("readlink = %q, %v", got, err)
	}
	if fi, err := c.Lstat(filepath.Join(root, "link")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("lstat of the link: %v, %v", fi, err)
	}
	if err := c.Chmod(filepath.Join(root, "renamed.txt"), 0o600); err != nil {
		t.Error(err)
	}
	if fi, _ := os.Stat(filepath.Join(root, "renamed.txt")); fi == nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("chmod did not reach the host: %v", fi)
	}
	if err := c.Mkdir(filepath.Join(root, "d")); err != nil {
		t.Error(err)
	}
	entries, err := c.ReadDir(root)
	if err != nil || len(entries) != 5 {
		t.Errorf("listing root: %d entries, %v", len(entries), err)
	}
	// Writes that leave root are refused.
	if _, err := c.Create(filepath.Join(dir, "escape")); !errors.Is(err, os.ErrPermission) {
		t.Errorf("create outside root: %v", err)
	}
	if err := c.Rename(filepath.Join(root, "renamed.txt"), filepath.Join(dir, "moved")); !errors.Is(err, os.ErrPermission) {
		t.Errorf("rename out of root: %v", err)
	}
}

func TestRootedFSReadOnly(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	c := serve(t, root, true)
	if _, err := c.Stat(filepath.Join(root, "f")); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(filepath.Join(root, "new")); !errors.Is(err, os.ErrPermission) {
		t.Errorf("create on a read-only share: %v", err)
	}
	if err := c.Remove(filepath.Join(root, "f")); !errors.Is(err, os.ErrPermission) {
		t.Errorf("remove on a read-only share: %v", err)
	}
	if err := c.Mkdir(filepath.Join(root, "d")); !errors.Is(err, os.ErrPermission) {
		t.Errorf("mkdir on a read-only share: %v", err)
	}
}

// Setting a file's times changes them, except when the new times equal the current ones to the
// second: then the host's sub-second part is kept (mountInotify's touch sends them back).
func TestSetTimes(t *testing.T) {
	root := t.TempDir()
	f := filepath.Join(root, "f")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	precise := time.Date(2026, 5, 6, 7, 8, 9, 123456789, time.UTC)
	if err := os.Chtimes(f, precise, precise); err != nil {
		t.Fatal(err)
	}
	c := serve(t, root, false)
	if err := c.Chtimes(f, precise.Truncate(time.Second), precise.Truncate(time.Second)); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(f); st == nil || !st.ModTime().Equal(precise) {
		t.Errorf("a same-second setstat changed the mtime to %v", st.ModTime())
	}
	later := precise.Add(time.Hour).Truncate(time.Second)
	if err := c.Chtimes(f, later, later); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(f); st == nil || !st.ModTime().Equal(later) {
		t.Errorf("mtime after setstat: %v, want %v", st.ModTime(), later)
	}
}
