package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/limactl/limactl/pkg/disk"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// TestAdditionalDiskLocks: Start's disk step locks every additional disk for the instance and reports
// its format; cleanup (Stop, Kill, a failed launch) releases the locks; a missing disk fails the step.
func TestAdditionalDiskLocks(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	ctx := context.Background()
	if _, err := disk.Create(ctx, "data", 16<<20, "qcow2"); err != nil {
		t.Fatal(err)
	}
	if _, err := disk.Create(ctx, "scratch", 1<<20, "raw"); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(home, "vm")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	y := &limayaml.LimaYAML{AdditionalDisks: []limayaml.Disk{{Name: "data"}, {Name: "scratch"}}}
	d := New(driver.Config{Name: "vm", InstanceDir: dir, Config: y}).(*Driver)

	formats, err := d.lockDisks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if formats["data"] != "qcow2" || formats["scratch"] != "raw" {
		t.Fatalf("formats: %v", formats)
	}
	for _, n := range []string{"data", "scratch"} {
		if got, _ := os.Readlink(filepath.Join(home, "_disks", n, disk.InUseBy)); got != dir {
			t.Fatalf("%s in_use_by = %q, want %q", n, got, dir)
		}
	}
	d.cleanup()
	for _, n := range []string{"data", "scratch"} {
		if _, err := os.Lstat(filepath.Join(home, "_disks", n, disk.InUseBy)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s still locked after cleanup: %v", n, err)
		}
	}

	y.AdditionalDisks = append(y.AdditionalDisks, limayaml.Disk{Name: "missing"})
	if _, err := d.lockDisks(ctx); !errors.Is(err, disk.ErrNotExist) {
		t.Fatalf("missing disk: want ErrNotExist, got %v", err)
	}
	if _, err := os.Lstat(filepath.Join(home, "_disks", "data", disk.InUseBy)); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a failed lockDisks left a lock behind")
	}
}
