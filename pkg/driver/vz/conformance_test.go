package vz

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/drivertest"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// testHost pretends to be a Mac of this machine's arch, so the plan accepts a native guest.
func testHost() *HostFacts {
	return &HostFacts{MacOSVersion: "14.5", Arch: limayaml.GoArchToLima(runtime.GOARCH), Rosetta: RosettaInstalled}
}

// newInstance makes an instance directory holding a raw base image and a cidata.iso (the host agent
// writes that before Start), and returns its driver.Config.
func newInstance(t *testing.T) driver.Config {
	t.Helper()
	return newInstanceIn(t, filepath.Join(t.TempDir(), "vm1"))
}

func newInstanceIn(t *testing.T, dir string) driver.Config {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// A raw image with data, a hole, and more data: the sparse copy must reproduce it.
	img := append(bytes.Repeat([]byte("boot"), 1<<10), make([]byte, 3<<20)...)
	img = append(img, []byte("tail")...)
	if err := os.WriteFile(filepath.Join(dir, filenames.Image), img, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, filenames.CIDataISO), []byte("cidata"), 0o644); err != nil {
		t.Fatal(err)
	}
	y := baseConfig(limayaml.GoArchToLima(runtime.GOARCH))
	y.Disk = nil
	return driver.Config{Name: "vm1", InstanceDir: dir, Config: y}
}

func TestConformance(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
		cfg := newInstance(t)
		opts := Options{Hypervisor: &fakeHypervisor{}, Host: testHost()}
		return NewWithOptions(cfg, opts), drivertest.Harness{
			Sibling:    func() driver.Driver { return NewWithOptions(cfg, opts) },
			BaseImage:  cfg.BaseImagePath(),
			GuestAgent: true,
			Timeout:    time.Minute,
		}
	})
}

// TestConformanceGuestIgnoresPowerButton runs the suite with a guest that ignores RequestStop, so
// every Stop goes through the bounded wait and then forces.
func TestConformanceGuestIgnoresPowerButton(t *testing.T) {
	drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
		cfg := newInstance(t)
		cfg.StopTimeout = 20 * time.Millisecond
		opts := Options{Hypervisor: &fakeHypervisor{ignoreRequestStop: true}, Host: testHost()}
		return NewWithOptions(cfg, opts), drivertest.Harness{
			Sibling:    func() driver.Driver { return NewWithOptions(cfg, opts) },
			BaseImage:  cfg.BaseImagePath(),
			GuestAgent: true,
			Timeout:    time.Minute,
		}
	})
}
