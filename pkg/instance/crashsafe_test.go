package instance

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// brokenReader yields n bytes of YAML-ish text, then fails, like a copy that breaks off.
type brokenReader struct{ n int }

var errBrokenOff = errors.New("broken off")

func (r *brokenReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, errBrokenOff
	}
	n := min(len(p), r.n)
	for i := range p[:n] {
		p[i] = "cpus: 9\n"[i%8]
	}
	r.n -= n
	return n, nil
}

// TestInterruptedWriteKeepsLimaYAML: a write of lima.yaml whose data fails half-way, and one whose
// process dies before it commits, both leave the previous lima.yaml in force; the dead writer's
// temporary file is not taken for lima.yaml by Inspect or Clone.
func TestInterruptedWriteKeepsLimaYAML(t *testing.T) {
	setLimaHome(t)
	ctx := context.Background()
	inst := mustCreate(t, "vm")
	path := filepath.Join(inst.Dir, filenames.LimaYAML)
	old, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}

	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(f, &brokenReader{n: 5000}); !errors.Is(err, errBrokenOff) {
		t.Fatalf("copy: %v", err)
	}
	_ = f.Abort()

	// A writer killed before Commit: its temporary file stays, half-written.
	dead, err := atomicfile.Create(path, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(dead, &brokenReader{n: 5000}, 3000); err != nil {
		t.Fatal(err)
	}
	_ = dead.Close()

	if b, _ := os.ReadFile(path); string(b) != string(old) {
		t.Fatalf("lima.yaml changed:\n%s", b)
	}
	got := inspect(t, "vm")
	if len(got.Errors) != 0 || got.CPUs != inst.CPUs {
		t.Fatalf("Inspect after the interrupted writes: cpus=%d errors=%v", got.CPUs, got.Errors)
	}
	clone, err := Clone(ctx, got, "copy", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range dirFiles(t, clone.Dir) {
		if strings.HasSuffix(name, ".tmp") {
			t.Errorf("Clone copied the temporary file %s", name)
		}
	}
	if err := atomicfile.RemoveTemps(path); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dead.Name()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("RemoveTemps left %s: %v", dead.Name(), err)
	}
}

// TestCloneHoldsSourceLock: a start in progress makes Clone fail at once, and a start cannot
// begin while Clone copies.
func TestCloneHoldsSourceLock(t *testing.T) {
	limaHome := setLimaHome(t)
	ctx := context.Background()
	src := mustCreate(t, "src")

	unlock, err := lockForStart(src) // what `limactl start src` holds while it boots
	if err != nil {
		t.Fatal(err)
	}
	_, err = Clone(ctx, inspect(t, "src"), "dst", nil)
	if err == nil || !strings.Contains(err.Error(), "cannot clone instance `src`: another process (pid") ||
		!strings.Contains(err.Error(), "limactl start src") {
		t.Fatalf("Clone during a start: %v", err)
	}
	_ = unlock()
	if l := leftovers(t, limaHome); len(l) != 0 {
		t.Fatalf("the refused clone left %v", l)
	}
	if _, err := os.Stat(filepath.Join(limaHome, "dst")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the refused clone made dst: %v", err)
	}

	var startErr error
	testHookCloneCopied = func() {
		var unlock func() error
		if unlock, startErr = lockForStart(src); startErr == nil {
			_ = unlock()
		}
	}
	t.Cleanup(func() { testHookCloneCopied = nil })
	if _, err := Clone(ctx, inspect(t, "src"), "dst", nil); err != nil {
		t.Fatal(err)
	}
	if startErr == nil || !strings.Contains(startErr.Error(), "is being started by another process") {
		t.Fatalf("a start during the copy: %v, want it refused", startErr)
	}
	if unlock, err := lockForStart(src); err != nil {
		t.Fatalf("Clone did not release the source's lock: %v", err)
	} else {
		_ = unlock()
	}
}

// TestRenameRelinksDisks: rename points in_use_by at the new directory, replacing the link in one
// step (no moment without a lock, no temporary link left).
func TestRenameRelinksDisks(t *testing.T) {
	limaHome := setLimaHome(t)
	ctx := context.Background()
	y := append(minimalYAML(t), []byte("additionalDisks: [data]\n")...)
	inst, err := Create(ctx, "vm", y, false)
	if err != nil {
		t.Fatal(err)
	}
	diskDir := filepath.Join(limaHome, "_disks", "data")
	if err := os.MkdirAll(diskDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(inst.Dir, filepath.Join(diskDir, "in_use_by")); err != nil {
		t.Fatal(err)
	}
	renamed, err := Rename(ctx, inspect(t, "vm"), "moved", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := os.Readlink(filepath.Join(diskDir, "in_use_by")); err != nil || got != renamed.Dir {
		t.Fatalf("in_use_by -> %q (%v), want %q", got, err, renamed.Dir)
	}
	if entries, _ := os.ReadDir(diskDir); len(entries) != 1 {
		t.Fatalf("disk directory holds %v, want only in_use_by", entries)
	}
}
