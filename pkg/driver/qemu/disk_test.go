package qemu

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/qemuimg"
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
	info, err := QEMUImgInfo(ctx, filepath.Join(dir, "disk"), "qcow2")
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "qcow2" || info.VirtualSize != 128<<20 || info.BackingFile != "image" || info.BackingFormat != "qcow2" {
		t.Fatalf("disk = %+v, want a 128 MiB qcow2 overlay on the relative backing file \"image\", format qcow2", info)
	}
	if sha(t, base) != before {
		t.Fatal("CreateDisk modified the base image")
	}

	// A larger disk: grows the existing disk; a smaller one is refused.
	y.Disk = ptr("256MiB")
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	if info, _ := QEMUImgInfo(ctx, filepath.Join(dir, "disk"), "qcow2"); info.VirtualSize != 256<<20 {
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

func qemuImg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
}

// TestCreateDiskRawBase: a raw base image is named with -F raw in the overlay, so QEMU opens it as
// raw and never probes it.
func TestCreateDiskRawBase(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	qemuImg(t, "create", "-f", "raw", filepath.Join(dir, "image"), "8M")
	d := New(driver.Config{Name: "vm", InstanceDir: dir, Config: &limayaml.LimaYAML{Disk: ptr("16MiB")}})
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	info, err := QEMUImgInfo(ctx, filepath.Join(dir, "disk"), "qcow2")
	if err != nil {
		t.Fatal(err)
	}
	if info.BackingFile != "image" || info.BackingFormat != "raw" || info.VirtualSize != 16<<20 {
		t.Fatalf("disk = %+v, want a 16 MiB overlay on \"image\" with backing format raw", info)
	}
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatalf("CreateDisk of an instance with its disk: %v", err)
	}
}

// maliciousImages makes a qcow2 image whose backing file is a host file, and one with a data file
// elsewhere on the host; each comes with the file it names and the `qemu-img info` field.
func maliciousImages(t *testing.T) []struct{ img, file, field string } {
	t.Helper()
	src := t.TempDir()
	secret := filepath.Join(src, "host-secret")
	if err := os.WriteFile(secret, []byte("a host file the guest must not read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backed := filepath.Join(src, "backed.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-b", secret, "-F", "raw", backed, "4M")
	dataFile := filepath.Join(src, "data.raw")
	withData := filepath.Join(src, "datafile.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-o", "data_file="+dataFile, withData, "4M")
	return []struct{ img, file, field string }{
		{backed, secret, "backing-filename"},
		{withData, dataFile, "format-specific.data.data-file"},
	}
}

// TestCreateDiskRefusesExternalFiles: a base image with a backing file or a data file (Lima's
// CVE-2023-32684) is refused, naming the image, the file and the field, and no disk is made. An
// existing disk that refers to a file other than the base image (restored or brought from
// elsewhere) is refused the same way at the next CreateDisk.
func TestCreateDiskRefusesExternalFiles(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	ctx := context.Background()
	check := func(what string, err error, names ...string) {
		t.Helper()
		if !errors.Is(err, qemuimg.ErrExternalFile) || !errors.Is(err, driver.ErrUnsupported) {
			t.Fatalf("%s: error = %v, want ErrExternalFile and ErrUnsupported", what, err)
		}
		for _, s := range names {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not name %q", what, err, s)
			}
		}
	}
	for _, tt := range maliciousImages(t) {
		dir := t.TempDir()
		base := filepath.Join(dir, "image")
		copyFile(t, tt.img, base)
		d := New(driver.Config{Name: "vm", InstanceDir: dir, Config: &limayaml.LimaYAML{Disk: ptr("8MiB")}})
		check("base image", d.CreateDisk(ctx), base, tt.file, tt.field)
		if _, err := os.Stat(filepath.Join(dir, "disk")); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused base image left a disk: %v", err)
		}

		// An instance whose disk is the malicious image (its base is fine).
		qemuImg(t, "create", "-f", "qcow2", base, "4M")
		disk := filepath.Join(dir, "disk")
		copyFile(t, tt.img, disk)
		check("existing disk", d.CreateDisk(ctx), disk, tt.file, tt.field)
	}
}

// TestOfflineSnapshots: the snapshots of a stopped instance go through qemu-img, which opens the
// disk as qcow2 (--image-opts), never guessing its format.
func TestOfflineSnapshots(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	ctx := context.Background()
	dir := t.TempDir()
	qemuImg(t, "create", "-f", "qcow2", filepath.Join(dir, "image"), "4M")
	d := New(driver.Config{Name: "vm", InstanceDir: dir, Config: &limayaml.LimaYAML{}})
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateSnapshot(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	list, err := d.ListSnapshots(ctx)
	if err != nil || len(list) != 1 || list[0].Tag != "one" {
		t.Fatalf("ListSnapshots = %+v, %v", list, err)
	}
	if err := d.ApplySnapshot(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(ctx, "one"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteSnapshot(ctx, "one"); !errors.Is(err, driver.ErrNotFound) {
		t.Fatalf("deleting a deleted snapshot: %v", err)
	}
}
