package vz

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/limactl/limactl/pkg/disk"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// TestAdditionalDisks: a running instance holds the lock of its disk, a second instance cannot
// start with it, stopping releases it, and a qcow2 disk is refused (vz reads raw only) without
// keeping a lock.
func TestAdditionalDisks(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	mkDisk := func(name string, content []byte) {
		dir := filepath.Join(home, "_disks", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, disk.DataDisk), content, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mkDisk("data", make([]byte, 1<<20))
	mkDisk("qdisk", append([]byte("QFI\xfb"), make([]byte, 508)...))
	inst := func(name string, disks ...string) driver.Config {
		cfg := newInstanceIn(t, filepath.Join(home, name))
		cfg.Name = name
		for _, d := range disks {
			cfg.Config.AdditionalDisks = append(cfg.Config.AdditionalDisks, limayaml.Disk{Name: d})
		}
		return cfg
	}
	holder := func(name string) string {
		target, _ := os.Readlink(filepath.Join(home, "_disks", name, disk.InUseBy))
		return target
	}
	ctx := context.Background()
	hv := &fakeHypervisor{}

	cfg1 := inst("vm1", "data")
	d1, errCh := startedDriver(t, hv, cfg1)
	if got := holder("data"); got != cfg1.InstanceDir {
		t.Fatalf("disk data is locked by %q, want %q", got, cfg1.InstanceDir)
	}
	spec, err := d1.Plan()
	if err != nil {
		t.Fatal(err)
	}
	if last := spec.Disks[len(spec.Disks)-1]; last.Identifier != "lima-data" {
		t.Errorf("the additional disk's identifier is %q, want lima-data", last.Identifier)
	}

	d2 := NewWithOptions(inst("vm2", "data"), Options{Hypervisor: hv, Host: testHost()})
	if err := d2.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d2.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d2.Start(ctx); !errors.Is(err, disk.ErrInUse) {
		t.Fatalf("second instance with the same disk: Start = %v, want ErrInUse", err)
	}

	if err := d1.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-errCh
	if got := holder("data"); got != "" {
		t.Errorf("after Stop disk data is still locked by %q", got)
	}

	d3 := NewWithOptions(inst("vm3", "qdisk"), Options{Hypervisor: hv, Host: testHost()})
	if err := d3.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d3.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := d3.Start(ctx); !errors.Is(err, driver.ErrUnsupported) {
		t.Fatalf("a qcow2 additional disk: Start = %v, want ErrUnsupported", err)
	}
	if got := holder("qdisk"); got != "" {
		t.Errorf("a refused start left disk qdisk locked by %q", got)
	}

	// data was made without a format record (as by Lima or an older limactl): its first use recorded
	// what its header says.
	if b, err := os.ReadFile(filepath.Join(home, "_disks", "data", disk.FormatFile)); err != nil || string(b) != "raw\n" {
		t.Errorf("format record of data after its first use: %q, %v", b, err)
	}
	// A raw disk into which the guest wrote a qcow2 header stays raw: its record says so.
	if err := os.WriteFile(filepath.Join(home, "_disks", "data", disk.DataDisk), append([]byte("QFI\xfb\x00\x00\x00\x03"), make([]byte, 1<<20)...), 0o644); err != nil {
		t.Fatal(err)
	}
	d4, errCh := startedDriver(t, hv, inst("vm4", "data"))
	if err := d4.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	<-errCh
}

func TestDiskIdentifier(t *testing.T) {
	for name, want := range map[string]string{"data": "lima-data", "a-very-long-disk-name": "lima-a-very-long-dis"} {
		if got := diskIdentifier(name); got != want {
			t.Errorf("diskIdentifier(%q) = %q, want %q", name, got, want)
		}
	}
}
