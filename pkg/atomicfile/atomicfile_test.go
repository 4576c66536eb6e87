package atomicfile

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// assertOnly fails unless dir holds exactly the names want (no temporary file left over).
func assertOnly(t *testing.T, dir string, want ...string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("%s holds %q, want %q", dir, got, want)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lima.yaml")
	if err := WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := WriteFile(p, []byte("new\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "new\n" {
		t.Errorf("content %q, want %q", got, "new\n")
	}
	if st, err := os.Stat(p); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", st.Mode().Perm())
	}
	assertOnly(t, dir, "lima.yaml")
}

func TestWriteFileMissingDir(t *testing.T) {
	if err := WriteFile(filepath.Join(t.TempDir(), "no", "such"), nil, 0o644); err == nil {
		t.Error("WriteFile into a missing directory succeeded")
	}
}

func TestAbortKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "lima.yaml")
	if err := WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("half a ne")); err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil {
		t.Errorf("second Abort: %v", err)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if got := readFile(t, p); got != "old\n" {
		t.Errorf("content %q, want the old one", got)
	}
	assertOnly(t, dir, "lima.yaml")
}

// failingReader yields some bytes, then an error, like a download or a copy that breaks off.
type failingReader struct{ n int }

var errBroken = errors.New("broken off")

func (r *failingReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBroken
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = 'x'
	}
	r.n -= n
	return n, nil
}

func TestFailedWriteKeepsOld(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data")
	if err := WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	write := func() error {
		f, err := Create(p, 0o644)
		if err != nil {
			return err
		}
		defer f.Abort()
		if _, err := io.Copy(f, &failingReader{n: 100 << 10}); err != nil {
			return err
		}
		return f.Commit()
	}
	if err := write(); !errors.Is(err, errBroken) {
		t.Fatalf("write: %v, want %v", err, errBroken)
	}
	if got := readFile(t, p); got != "old\n" {
		t.Errorf("content %q, want the old one", got)
	}
	assertOnly(t, dir, "data")
}

func TestCommitNew(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "disk")
	f, err := Create(p, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	if f.Path() != p {
		t.Errorf("Path() = %q, want %q", f.Path(), p)
	}
	if _, err := f.WriteAt([]byte("end"), 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); err == nil {
		t.Error("the target exists before Commit")
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if st, err := os.Stat(p); err != nil || st.Size() != 1<<20+3 {
		t.Errorf("after Commit: %v, %v", st, err)
	}
	assertOnly(t, dir, "disk")
}

func TestWriteUserFile(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.yaml")
	if err := os.WriteFile(target, []byte("old\n"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.yaml")
	if err := os.Symlink("real.yaml", link); err != nil {
		t.Skipf("no symlinks here: %v", err)
	}
	if err := WriteUserFile(link, []byte("new\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v, %v", st, err)
	}
	if got := readFile(t, target); got != "new\n" {
		t.Errorf("content %q, want %q", got, "new\n")
	}
	if st, err := os.Stat(target); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && st.Mode().Perm() != 0o640 {
		t.Errorf("mode %v, want the old 0640", st.Mode().Perm())
	}
	assertOnly(t, dir, "link.yaml", "real.yaml")

	fresh := filepath.Join(dir, "new.yaml")
	if err := WriteUserFile(fresh, []byte("x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, fresh); got != "x\n" {
		t.Errorf("content %q", got)
	}
}

func TestWriteUserFileDevice(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no /dev/null")
	}
	if err := WriteUserFile(os.DevNull, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Stat(os.DevNull); err != nil || st.Mode().IsRegular() {
		t.Fatalf("%s was replaced: %v, %v", os.DevNull, st, err)
	}
}

func TestRenameAndTemps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "disk")
	tmp := TempName(p)
	if filepath.Dir(tmp) != dir || !isTempOf(filepath.Base(tmp), p) {
		t.Fatalf("TempName(%q) = %q", p, tmp)
	}
	if TempName(p) == tmp {
		t.Error("TempName returned the same name twice")
	}
	if err := os.WriteFile(tmp, []byte("image"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, p); got != "image" {
		t.Errorf("content %q", got)
	}

	// Left-overs of killed writers of p go; those of other files, and other files, stay.
	for _, name := range []string{TempName(p), TempName(p), TempName(filepath.Join(dir, "disk.b")), filepath.Join(dir, ".disk.tmp"), filepath.Join(dir, ".disk.x.y.tmp")} {
		if err := os.WriteFile(name, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := RemoveTemps(p); err != nil {
		t.Fatal(err)
	}
	entries, _ := os.ReadDir(dir)
	var left []string
	for _, e := range entries {
		if isTempOf(e.Name(), p) {
			t.Errorf("RemoveTemps left %s", e.Name())
		}
		left = append(left, e.Name())
	}
	if len(left) != 4 {
		t.Errorf("after RemoveTemps: %q, want disk, .disk.tmp, .disk.x.y.tmp and the temp of disk.b", left)
	}
}

func TestSyncDir(t *testing.T) {
	if err := SyncDir(t.TempDir()); err != nil {
		t.Fatal(err)
	}
	if err := SyncDir(filepath.Join(t.TempDir(), "missing")); err == nil && runtime.GOOS != "windows" {
		t.Error("SyncDir of a missing directory succeeded")
	}
}

// TestKilledWriter kills a process in the middle of a write (SIGKILL, no clean-up): the target
// keeps its old content, and what the writer leaves is a temporary file RemoveTemps recognises.
func TestKilledWriter(t *testing.T) {
	if p := os.Getenv("ATOMICFILE_TEST_WRITER"); p != "" {
		f, err := Create(p, 0o644)
		if err != nil {
			os.Exit(2)
		}
		_, _ = f.Write([]byte("the first half of the new conte"))
		_ = f.Sync()
		os.Stdout.WriteString("ready\n")
		select {} // wait to be killed
	}
	if runtime.GOOS == "windows" {
		t.Skip("SIGKILL")
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "lima.yaml")
	if err := WriteFile(p, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledWriter$")
	cmd.Env = append(os.Environ(), "ATOMICFILE_TEST_WRITER="+p)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(out).ReadString('\n')
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if line != "ready\n" {
		t.Fatalf("the writer said %q", line)
	}
	if got := readFile(t, p); got != "old\n" {
		t.Errorf("after the kill lima.yaml holds %q, want the old content", got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Fatalf("want lima.yaml and one temporary file, got %v", entries)
	}
	if err := RemoveTemps(p); err != nil {
		t.Fatal(err)
	}
	assertOnly(t, dir, "lima.yaml")
}
