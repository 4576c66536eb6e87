package qemu

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

func sha(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

func TestCreateDiskOverlay(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	base := filepath.Join(dir, "image")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", base, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	before := sha(t, base)
	y := &limayaml.LimaYAML{Arch: ptr(limayaml.X8664), Disk: ptr("128MiB")}
	d := New(driver.Config{Name: "vm", InstanceDir: dir, Config: y})

	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := QEMUImgInfo(ctx, filepath.Join(dir, "disk"))
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || info.VirtualSize != 128<<20 || info.BackingFile != "image" {
		t.Fatalf("disk = %+v, want a 128 MiB qcow2 overlay on the relative backing file \"image\"", info)
	}
	if sha(t, base) != before {
		t.Fatal("CreateDisk modified the base image")
	}

	// A larger disk: grows the existing disk; a smaller one is refused.
	y.Disk = ptr("256MiB")
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	if info, _ := QEMUImgInfo(ctx, filepath.Join(dir, "disk")); info.VirtualSize != 256<<20 {
		t.Fatalf("after growing: virtual size %d, want 256 MiB", info.VirtualSize)
	}
	y.Disk = ptr("128MiB")
	if err := d.CreateDisk(ctx); !errors.Is(err, driver.ErrInvalidConfig) {
		t.Fatalf("shrinking: error = %v, want ErrInvalidConfig", err)
	}
	if sha(t, base) != before {
		t.Fatal("growing the disk modified the base image")
	}
}

func TestCreateDiskRefusesISO(t *testing.T) {
	dir := t.TempDir()
	iso := make([]byte, 0x9000)
	copy(iso[0x8001:], "CD001")
	if err := os.WriteFile(filepath.Join(dir, "image"), iso, 0o644); err != nil {
		t.Fatal(err)
	}
	d := New(driver.Config{Name: "vm", InstanceDir: dir, Config: &limayaml.LimaYAML{Disk: ptr("1GiB")}})
	if err := d.CreateDisk(context.Background()); !errors.Is(err, driver.ErrUnsupported) {
		t.Fatalf("error = %v, want ErrUnsupported", err)
	}
}
