package vz

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/qemuimg"
	"github.com/limactl/limactl/pkg/store/filenames"
)

func diskDriver(t *testing.T, size string) (*Driver, driver.Config) {
	t.Helper()
	cfg := newInstance(t)
	if size != "" {
		cfg.Config.Disk = ptr(size)
	}
	return NewWithOptions(cfg, Options{Hypervisor: &fakeHypervisor{}, Host: testHost()}), cfg
}

func TestCreateDiskRawCopyAndGrow(t *testing.T) {
	ctx := context.Background()
	d, cfg := diskDriver(t, "8MiB")
	base, err := os.ReadFile(cfg.BaseImagePath())
	if err != nil {
		t.Fatal(err)
	}
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(cfg.InstanceDir, filenames.Disk)
	got, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 8<<20 {
		t.Fatalf("disk is %d bytes, want 8 MiB", len(got))
	}
	if !bytes.Equal(got[:len(base)], base) || !bytes.Equal(got[len(base):], make([]byte, len(got)-len(base))) {
		t.Fatal("the disk is not the base image followed by zeros")
	}

	// A larger disk: grows; a smaller one: refused, the disk untouched.
	d.cfg.Config.Disk = ptr("16MiB")
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(disk); st.Size() != 16<<20 {
		t.Fatalf("disk is %d bytes after growing, want 16 MiB", st.Size())
	}
	d.cfg.Config.Disk = ptr("4MiB")
	if err := d.CreateDisk(ctx); !errors.Is(err, driver.ErrInvalidConfig) {
		t.Fatalf("shrinking CreateDisk = %v, want ErrInvalidConfig", err)
	}
	if st, _ := os.Stat(disk); st.Size() != 16<<20 {
		t.Fatalf("a refused shrink changed the disk to %d bytes", st.Size())
	}
}

func TestCreateDiskConvertsQCOW2(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (apt-get install qemu-utils); the qcow2 conversion is not tested here")
	}
	ctx := context.Background()
	d, cfg := diskDriver(t, "")
	raw, err := os.ReadFile(cfg.BaseImagePath())
	if err != nil {
		t.Fatal(err)
	}
	qcow := cfg.BaseImagePath() + ".qcow2"
	if out, err := exec.Command("qemu-img", "convert", "-f", "raw", "-O", "qcow2", cfg.BaseImagePath(), qcow).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v: %s", err, out)
	}
	if f, _ := DetectFormat(qcow); f != FormatQCOW2 {
		t.Fatalf("DetectFormat(qcow2 image) = %q", f)
	}
	if err := os.Rename(qcow, cfg.BaseImagePath()); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	disk := filepath.Join(cfg.InstanceDir, filenames.Disk)
	if f, _ := DetectFormat(disk); f != FormatRaw {
		t.Fatalf("the converted disk is %q, want raw", f)
	}
	got, err := os.ReadFile(disk)
	if err != nil {
		t.Fatal(err)
	}
	// qcow2 sizes are whole 512-byte sectors: the conversion may pad the image with zeros.
	if len(got) < len(raw) || !bytes.Equal(got[:len(raw)], raw) || !bytes.Equal(got[len(raw):], make([]byte, len(got)-len(raw))) {
		t.Fatalf("the converted disk (%d bytes) is not the original raw image (%d bytes), zero-padded", len(got), len(raw))
	}
}

func TestCreateDiskRefusesOtherFormats(t *testing.T) {
	for name, content := range map[string][]byte{
		"vmdk": append([]byte("KDMV"), make([]byte, 1024)...),
		"vhdx": append([]byte("vhdxfile"), make([]byte, 1024)...),
		"iso":  append(make([]byte, 0x8001), []byte("CD001")...),
	} {
		t.Run(name, func(t *testing.T) {
			d, cfg := diskDriver(t, "")
			if err := os.WriteFile(cfg.BaseImagePath(), content, 0o644); err != nil {
				t.Fatal(err)
			}
			if err := d.CreateDisk(context.Background()); !errors.Is(err, driver.ErrUnsupported) {
				t.Fatalf("CreateDisk of a %s base = %v, want ErrUnsupported", name, err)
			}
			if exists(filepath.Join(cfg.InstanceDir, filenames.Disk)) {
				t.Error("a refused CreateDisk left a disk")
			}
		})
	}
}

// TestCreateDiskRefusesExternalFiles: a qcow2 base image with a backing file or a data file is
// refused before the conversion, which would copy that host file into the guest's disk (Lima's
// CVE-2023-32684). The error names the image, the file and the field.
func TestCreateDiskRefusesExternalFiles(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (apt-get install qemu-utils)")
	}
	src := t.TempDir()
	secret := filepath.Join(src, "host-secret")
	if err := os.WriteFile(secret, []byte("a host file the guest must not read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dataFile := filepath.Join(src, "data.raw")
	for _, tt := range []struct {
		field, file string
		create      []string
	}{
		{"backing-filename", secret, []string{"-b", secret, "-F", "raw"}},
		{"format-specific.data.data-file", dataFile, []string{"-o", "data_file=" + dataFile}},
	} {
		t.Run(tt.field, func(t *testing.T) {
			d, cfg := diskDriver(t, "")
			base := cfg.BaseImagePath()
			args := append(append([]string{"create", "-f", "qcow2"}, tt.create...), base+".tmp", "4M")
			if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
				t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
			}
			if err := os.Rename(base+".tmp", base); err != nil {
				t.Fatal(err)
			}
			err := d.CreateDisk(context.Background())
			if !errors.Is(err, qemuimg.ErrExternalFile) || !errors.Is(err, driver.ErrUnsupported) {
				t.Fatalf("CreateDisk = %v, want ErrExternalFile and ErrUnsupported", err)
			}
			for _, s := range []string{base, tt.file, tt.field} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not name %q", err, s)
				}
			}
			if exists(filepath.Join(cfg.InstanceDir, filenames.Disk)) {
				t.Error("a refused CreateDisk left a disk")
			}
		})
	}
}
