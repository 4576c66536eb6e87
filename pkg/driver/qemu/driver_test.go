package qemu

import (
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/drivertest"
	"github.com/limactl/limactl/pkg/limayaml"
)

// TestConformance runs the driver suite against real QEMU processes. The guest is SeaBIOS with an empty
// disk: no OS, so nothing answers the power button and every Stop ends in the forced path after
// StopTimeout. That keeps each run to seconds without a guest image; booting a real guest is the e2e
// suite's job. It starts QEMU, so it only runs when asked: LIMACTL_QEMU_TESTS=1 (or LIMACTL_E2E=1).
func TestConformance(t *testing.T) {
	requireQEMUTests(t)
	drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
		return newSeaBIOSInstance(t, t.TempDir())
	})
}

// newSeaBIOSInstance makes an instance in dir whose guest is SeaBIOS with an empty disk.
func newSeaBIOSInstance(t *testing.T, dir string) (driver.Driver, drivertest.Harness) {
	t.Helper()
	base := filepath.Join(dir, "image")
	if out, err := exec.Command("qemu-img", "create", "-f", "qcow2", base, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img: %v\n%s", err, out)
	}
	// The host agent writes cidata.iso before Start; an empty one does for a guest without an OS.
	if err := os.WriteFile(filepath.Join(dir, "cidata.iso"), make([]byte, 2048), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := driver.Config{
		Name:         "conformance",
		InstanceDir:  dir,
		SSHLocalPort: freePort(t),
		StopTimeout:  2 * time.Second,
		Config: &limayaml.LimaYAML{
			Arch:      ptr(limayaml.X8664),
			CPUs:      ptr(1),
			Memory:    ptr("256MiB"),
			Disk:      ptr("128MiB"),
			MountType: ptr(limayaml.REVSSHFS),
			Firmware:  limayaml.Firmware{LegacyBIOS: ptr(true)},
			Video:     limayaml.Video{Display: ptr("none")},
		},
	}
	return New(cfg), drivertest.Harness{
		Sibling:               func() driver.Driver { return New(cfg) },
		BaseImage:             base,
		SnapshotsWhileRunning: true,
		// QEMU accepts on ga.sock without a guest, so the connection test holds here too.
		GuestAgent: true,
		Timeout:    time.Minute,
	}
}

func requireQEMUTests(t *testing.T) {
	t.Helper()
	if os.Getenv("LIMACTL_QEMU_TESTS") == "" && os.Getenv("LIMACTL_E2E") == "" {
		t.Skip("starts QEMU; set LIMACTL_QEMU_TESTS=1 to run")
	}
	needQEMU(t)
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	t.Setenv("LIMA_QEMU_ACCEL", AccelTCG)
}

// An instance directory too long for Unix socket paths still starts: QEMU's sockets go to a short
// directory, the instance directory links to them, and both go away when QEMU stops.
func TestStartWithLongInstanceDir(t *testing.T) {
	requireQEMUTests(t)
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-very-long-directory-name-", 4), "instance")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	d, _ := newSeaBIOSInstance(t, dir)
	ctx := context.Background()
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Kill(ctx) })
	target, err := os.Readlink(filepath.Join(dir, "ga.sock"))
	if err != nil {
		t.Fatalf("ga.sock is not a symlink to the short socket directory: %v", err)
	}
	if len(target) > maxSocketPath(runtime.GOOS) || !strings.HasPrefix(target, "/tmp/lima-") {
		t.Fatalf("ga.sock -> %s, want a short path under /tmp/lima-UID", target)
	}
	conn, err := d.GuestAgentConn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := d.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errCh; err != nil {
		t.Errorf("Start channel after Kill: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(dir, "ga.sock")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ga.sock symlink left after Kill: %v", err)
	}
	if _, err := os.Stat(filepath.Dir(target)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("short socket directory left after Kill: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The UEFI plan (installed OVMF as read-only pflash) launches.
func TestStartUEFI(t *testing.T) {
	requireQEMUTests(t)
	host, err := GatherHostFacts(context.Background(), limayaml.X8664, false)
	if err != nil {
		t.Fatal(err)
	}
	if findFirmware(limayaml.X8664, host) == "" {
		t.Skip("no OVMF installed")
	}
	dir := t.TempDir()
	d, _ := newSeaBIOSInstance(t, dir)
	d.(*Driver).cfg.Config.Firmware.LegacyBIOS = ptr(false)
	ctx := context.Background()
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Kill(ctx) })
	if st, err := d.Status(ctx); err != nil || st != driver.StatusRunning {
		t.Fatalf("Status = %s, %v", st, err)
	}
	if err := d.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errCh; err != nil {
		t.Errorf("Start channel after Kill: %v", err)
	}
}

// The aarch64 plan (virt machine, AAVMF or edk2 UEFI) launches under TCG.
func TestStartAarch64(t *testing.T) {
	requireQEMUTests(t)
	if _, err := exec.LookPath(BinaryName(limayaml.AARCH64)); err != nil {
		t.Skip("qemu-system-aarch64 is not installed")
	}
	host, err := GatherHostFacts(context.Background(), limayaml.AARCH64, false)
	if err != nil {
		t.Fatal(err)
	}
	if findFirmware(limayaml.AARCH64, host) == "" {
		t.Skip("no aarch64 UEFI firmware installed")
	}
	d, _ := newSeaBIOSInstance(t, t.TempDir())
	y := d.(*Driver).cfg.Config
	y.Arch = ptr(limayaml.AARCH64)
	y.Firmware.LegacyBIOS = ptr(false)
	ctx := context.Background()
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Kill(ctx) })
	if st, err := d.Status(ctx); err != nil || st != driver.StatusRunning {
		t.Fatalf("Status = %s, %v", st, err)
	}
	if err := d.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errCh; err != nil {
		t.Errorf("Start channel after Kill: %v", err)
	}
}
