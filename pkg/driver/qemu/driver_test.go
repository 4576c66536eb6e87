package qemu

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
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
	if os.Getenv("LIMACTL_QEMU_TESTS") == "" && os.Getenv("LIMACTL_E2E") == "" {
		t.Skip("starts QEMU; set LIMACTL_QEMU_TESTS=1 to run")
	}
	needQEMU(t)
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	t.Setenv("LIMA_QEMU_ACCEL", AccelTCG)
	drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
		dir := t.TempDir()
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
			Timeout:               time.Minute,
		}
	})
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
