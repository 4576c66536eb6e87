package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/disk"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/qemuimg"
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

// TestAdditionalDiskRecordedFormat plays a guest that wrote a qcow2 header naming a host file as its
// backing file into its raw disk: QEMU still gets format=raw for it. A disk whose image really
// refers to another file (a backing file, a data file: replaced on the host) fails the start with
// an error naming the disk, the file and the field, and leaves no lock behind.
func TestAdditionalDiskRecordedFormat(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	ctx := context.Background()
	secret := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(secret, []byte("a host file the guest must not read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	qemuImg := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
			t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
		}
	}
	if _, err := disk.Create(ctx, "scratch", 8<<20, "raw"); err != nil {
		t.Fatal(err)
	}
	hdr := filepath.Join(t.TempDir(), "hdr.qcow2")
	qemuImg("create", "-f", "qcow2", "-b", secret, "-F", "raw", hdr)
	b, err := os.ReadFile(hdr)
	if err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(home, "_disks", "scratch", disk.DataDisk)
	f, err := os.OpenFile(img, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt(b, 0); err != nil { // what the guest can write to its disk
		t.Fatal(err)
	}
	f.Close()

	dir := filepath.Join(home, "vm1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := cfgFor(baseConfig(limayaml.X8664))
	cfg.InstanceDir = dir
	cfg.Config.AdditionalDisks = []limayaml.Disk{{Name: "scratch"}}
	d := New(cfg).(*Driver)
	host := linuxHost(AccelKVM)
	if host.DiskFormats, err = d.lockDisks(ctx); err != nil {
		t.Fatal(err)
	}
	d.cleanup()
	p, err := MakePlan(cfg, host)
	if err != nil {
		t.Fatal(err)
	}
	want := "file=" + img + ",if=none,discard=on,id=adisk-scratch,format=raw"
	if !slices.Contains(p.Args, want) {
		t.Fatalf("the plan does not attach the disk as raw (%s):\n%s", want, strings.Join(p.Args, "\n"))
	}

	dataFile := filepath.Join(t.TempDir(), "data.raw")
	withData := filepath.Join(t.TempDir(), "datafile.qcow2")
	qemuImg("create", "-f", "qcow2", "-o", "data_file="+dataFile, withData, "4M")
	for _, tt := range []struct{ img, file, field string }{
		{hdr, secret, "backing-filename"},
		{withData, dataFile, "format-specific.data.data-file"},
	} {
		if err := os.RemoveAll(filepath.Join(home, "_disks", "bad")); err != nil {
			t.Fatal(err)
		}
		if _, err := disk.Create(ctx, "bad", 4<<20, "qcow2"); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(tt.img)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "_disks", "bad", disk.DataDisk), b, 0o644); err != nil {
			t.Fatal(err)
		}
		cfg.Config.AdditionalDisks = []limayaml.Disk{{Name: "scratch"}, {Name: "bad"}}
		_, err = d.lockDisks(ctx)
		if !errors.Is(err, qemuimg.ErrExternalFile) {
			t.Fatalf("%s: lockDisks = %v, want ErrExternalFile", tt.field, err)
		}
		for _, s := range []string{"`bad`", tt.file, tt.field} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not name %q", err, s)
			}
		}
		for _, n := range []string{"scratch", "bad"} {
			if _, err := os.Lstat(filepath.Join(home, "_disks", n, disk.InUseBy)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a refused disk left %s locked", n)
			}
		}
	}
}
