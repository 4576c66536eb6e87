package disk

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/atomicfile"
)

const mib = 1 << 20

// setup gives the test a fresh LIMA_HOME and skips it when qemu-img is not installed.
func setup(t *testing.T) (context.Context, string) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	return context.Background(), home
}

// fakeInstance makes an instance directory; running writes a live pid (ours) into ha.pid.
func fakeInstance(t *testing.T, home, name string, running bool) string {
	t.Helper()
	dir := filepath.Join(home, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if running {
		if err := os.WriteFile(filepath.Join(dir, "ha.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestCreateListResizeDelete(t *testing.T) {
	ctx, home := setup(t)
	if _, err := Create(ctx, "data", 64*mib, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, "raw1", 8*mib, FormatRaw); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(ctx, "data", 8*mib, ""); !errors.Is(err, ErrExist) {
		t.Fatalf("duplicate create: want ErrExist, got %v", err)
	}
	for _, bad := range []struct{ name, format string }{{"-bad", ""}, {"ok", "vmdk"}} {
		if _, err := Create(ctx, bad.name, mib, bad.format); err == nil {
			t.Errorf("Create(%q, %q) succeeded", bad.name, bad.format)
		}
	}
	disks, err := List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := []*Disk{
		{Name: "data", Size: 64 * mib, Format: "qcow2", Dir: filepath.Join(home, "_disks", "data"), MountPoint: "/mnt/lima-data"},
		{Name: "raw1", Size: 8 * mib, Format: "raw", Dir: filepath.Join(home, "_disks", "raw1"), MountPoint: "/mnt/lima-raw1"},
	}
	if diff := cmp.Diff(want, disks); diff != "" {
		t.Fatalf("List (-want +got):\n%s", diff)
	}

	d, err := Resize(ctx, "data", 128*mib)
	if err != nil || d.Size != 128*mib {
		t.Fatalf("grow: %v, %+v", err, d)
	}
	if _, err := Resize(ctx, "data", 64*mib); err == nil || !strings.Contains(err.Error(), "shrinking") {
		t.Fatalf("shrink: want a refusal, got %v", err)
	}
	if _, err := Resize(ctx, "raw1", 16*mib); err != nil {
		t.Fatal(err)
	}

	if err := Delete(ctx, "raw1", false); err != nil {
		t.Fatal(err)
	}
	if _, err := Inspect(ctx, "raw1"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("after delete: want ErrNotExist, got %v", err)
	}
	if err := Delete(ctx, "raw1", false); !errors.Is(err, ErrNotExist) {
		t.Fatalf("delete twice: want ErrNotExist, got %v", err)
	}
}

func TestLocking(t *testing.T) {
	ctx, home := setup(t)
	if _, err := Create(ctx, "data", 16*mib, ""); err != nil {
		t.Fatal(err)
	}
	a := fakeInstance(t, home, "a", true)
	b := fakeInstance(t, home, "b", false)

	if err := LockForInstance("data", a); err != nil {
		t.Fatal(err)
	}
	if err := LockForInstance("data", a); err != nil {
		t.Fatalf("re-lock by the holder: %v", err)
	}
	d, _ := Inspect(ctx, "data")
	if d.Instance != "a" || d.InstanceDir != a {
		t.Fatalf("in use by: %+v", d)
	}
	// a runs: b cannot take it, and nothing may resize, unlock or delete it.
	if err := LockForInstance("data", b); !errors.Is(err, ErrInUse) {
		t.Fatalf("lock by b: want ErrInUse, got %v", err)
	}
	if _, err := Resize(ctx, "data", 32*mib); !errors.Is(err, ErrInUse) {
		t.Fatalf("resize in use: want ErrInUse, got %v", err)
	}
	if err := Unlock("data"); !errors.Is(err, ErrInUse) {
		t.Fatalf("unlock of a running holder: want ErrInUse, got %v", err)
	}
	if err := Delete(ctx, "data", true); !errors.Is(err, ErrInUse) {
		t.Fatalf("force delete while running: want ErrInUse, got %v", err)
	}
	// UnlockForInstance by a non-holder leaves the lock.
	if err := UnlockForInstance("data", b); err != nil {
		t.Fatal(err)
	}
	if d, _ := Inspect(ctx, "data"); d.Instance != "a" {
		t.Fatalf("lock lost: %+v", d)
	}

	// a stops: b takes the lock over.
	if err := os.Remove(filepath.Join(a, "ha.pid")); err != nil {
		t.Fatal(err)
	}
	if err := LockForInstance("data", b); err != nil {
		t.Fatalf("take-over from a stopped instance: %v", err)
	}
	if d, _ := Inspect(ctx, "data"); d.Instance != "b" {
		t.Fatalf("after take-over: %+v", d)
	}
	if err := Delete(ctx, "data", false); !errors.Is(err, ErrInUse) {
		t.Fatalf("delete in use without force: want ErrInUse, got %v", err)
	}
	if _, err := Resize(ctx, "data", 32*mib); err != nil {
		t.Fatalf("resize of a disk held by a stopped instance: %v", err)
	}
	if err := UnlockForInstance("data", b); err != nil {
		t.Fatal(err)
	}
	if d, _ := Inspect(ctx, "data"); d.Instance != "" {
		t.Fatalf("after UnlockForInstance: %+v", d)
	}

	// A lock held by a deleted instance is taken over too, and Unlock clears any stopped holder.
	if err := LockForInstance("data", filepath.Join(home, "gone")); err != nil {
		t.Fatal(err)
	}
	if err := Unlock("data"); err != nil {
		t.Fatal(err)
	}
	if err := LockForInstance("data", filepath.Join(home, "gone")); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, "data", true); err != nil {
		t.Fatalf("force delete: %v", err)
	}
	if err := LockForInstance("data", b); !errors.Is(err, ErrNotExist) {
		t.Fatalf("lock of a missing disk: want ErrNotExist, got %v", err)
	}
}

func TestImport(t *testing.T) {
	ctx, _ := setup(t)
	src := t.TempDir()
	q := filepath.Join(src, "in.qcow2")
	r := filepath.Join(src, "in.img")
	over := filepath.Join(src, "overlay.qcow2")
	vmdk := filepath.Join(src, "in.vmdk")
	for _, args := range [][]string{
		{"create", "-f", "qcow2", q, "24M"},
		{"create", "-f", "raw", r, "4M"},
		{"create", "-f", "qcow2", "-b", q, "-F", "qcow2", over},
		{"create", "-f", "vmdk", vmdk, "4M"},
	} {
		if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
		}
	}
	d, err := Import(ctx, "fromq", q)
	if err != nil || d.Format != "qcow2" || d.Size != 24*mib {
		t.Fatalf("import qcow2: %v %+v", err, d)
	}
	d, err = Import(ctx, "fromr", r)
	if err != nil || d.Format != "raw" || d.Size != 4*mib {
		t.Fatalf("import raw: %v %+v", err, d)
	}
	if _, err := Import(ctx, "fromq", q); !errors.Is(err, ErrExist) {
		t.Fatalf("import onto an existing disk: want ErrExist, got %v", err)
	}
	for _, bad := range []string{over, vmdk, filepath.Join(src, "missing")} {
		if _, err := Import(ctx, "bad", bad); err == nil {
			t.Errorf("import %s succeeded", bad)
		}
	}
	if names, _ := Names(); !cmp.Equal(names, []string{"fromq", "fromr"}) {
		t.Fatalf("names after failed imports: %v", names)
	}
}

// TestInterruptedImport: what a killed `disk import` leaves (the disk directory with a partial
// temporary image, no datadisk) is not listed as a disk, blocks the name with a clear error, and
// is removed by Delete.
func TestInterruptedImport(t *testing.T) {
	ctx, home := setup(t)
	if _, err := Create(ctx, "good", 8*mib, FormatRaw); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, "_disks", "half")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := atomicfile.Create(filepath.Join(dir, DataDisk), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("QFI\xfb\x00\x00\x00\x03 the start of an image")); err != nil {
		t.Fatal(err)
	}
	_ = f.Close() // killed: neither Commit nor Abort

	if names, err := Names(); err != nil || !cmp.Equal(names, []string{"good"}) {
		t.Fatalf("Names with an interrupted import: %v, %v", names, err)
	}
	disks, err := List(ctx)
	if err != nil || len(disks) != 1 || disks[0].Name != "good" {
		t.Fatalf("List with an interrupted import: %v, %v", disks, err)
	}
	src := filepath.Join(t.TempDir(), "in.img")
	if out, err := exec.Command("qemu-img", "create", "-f", "raw", src, "4M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	if _, err := Import(ctx, "half", src); !errors.Is(err, ErrExist) || !strings.Contains(err.Error(), "incomplete") {
		t.Fatalf("import onto an incomplete disk: %v", err)
	}
	if err := Delete(ctx, "half", false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Delete left %s: %v", dir, err)
	}
	d, err := Import(ctx, "half", src)
	if err != nil || d.Size != 4*mib {
		t.Fatalf("import after the delete: %+v, %v", d, err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != DataDisk || entries[1].Name() != FormatFile {
		t.Fatalf("disk directory after an import: %v", entries)
	}
}
