package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

func TestDecideAccel(t *testing.T) {
	hung := &ProbeError{Reason: "no result within 3s", TimedOut: true}
	tests := []struct {
		name      string
		f         AccelFacts
		want      string
		warn      bool
		wantError error
	}{
		{"linux kvm works", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "x86_64"}, AccelKVM, false, nil},
		{"linux kvm probe hangs", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "x86_64", KVMProbe: hung}, AccelTCG, true, nil},
		{"linux no /dev/kvm", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "x86_64", KVMDevice: os.ErrNotExist}, AccelTCG, false, nil},
		{"linux foreign arch", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "aarch64"}, AccelTCG, false, nil},
		{"darwin hvf", AccelFacts{OS: "darwin", HostArch: "aarch64", GuestArch: "aarch64", HVF: true}, AccelHVF, false, nil},
		{"darwin no hvf", AccelFacts{OS: "darwin", HostArch: "aarch64", GuestArch: "aarch64"}, AccelTCG, true, nil},
		{"darwin x86 guest on arm", AccelFacts{OS: "darwin", HostArch: "aarch64", GuestArch: "x86_64", HVF: true}, AccelTCG, false, nil},
		{"windows", AccelFacts{OS: "windows", HostArch: "x86_64", GuestArch: "x86_64"}, AccelWHPX, false, nil},
		{"forced tcg", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "x86_64", Forced: "tcg"}, AccelTCG, false, nil},
		{"forced kvm despite probe", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "x86_64", Forced: "kvm", KVMProbe: hung}, AccelKVM, false, nil},
		{"forced nonsense", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "x86_64", Forced: "xen"}, "", false, driver.ErrInvalidConfig},
		{"forced kvm for foreign arch", AccelFacts{OS: "linux", HostArch: "x86_64", GuestArch: "aarch64", Forced: "kvm"}, "", false, driver.ErrInvalidConfig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecideAccel(tt.f)
			if tt.wantError != nil {
				if !errors.Is(err, tt.wantError) {
					t.Fatalf("error = %v, want %v", err, tt.wantError)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Accel != tt.want || (got.Warning != "") != tt.warn || got.Reason == "" {
				t.Fatalf("DecideAccel = %+v, want accel %s, warning %v", got, tt.want, tt.warn)
			}
			if tt.warn && tt.f.KVMProbe != nil && !strings.Contains(got.Warning, "LIMA_QEMU_ACCEL=kvm") {
				t.Errorf("warning %q does not say how to force KVM", got.Warning)
			}
		})
	}
}

func needQEMU(t *testing.T) string {
	t.Helper()
	if HostArch() != limayaml.X8664 {
		t.Skip("the probe guest is x86 code")
	}
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("qemu-system-x86_64 is not installed")
	}
	return bin
}

// The probe payloads must really run under emulation; otherwise a KVM failure would prove nothing.
func TestProbeGuestRunsUnderTCG(t *testing.T) {
	for _, arch := range []limayaml.Arch{limayaml.X8664, limayaml.AARCH64} {
		t.Run(arch, func(t *testing.T) {
			bin, err := exec.LookPath(BinaryName(arch))
			if err != nil {
				t.Skipf("%s is not installed", BinaryName(arch))
			}
			if err := ProbeGuest(context.Background(), bin, arch, AccelTCG, "max"); err != nil {
				t.Fatalf("the probe guest did not run under TCG: %v", err)
			}
		})
	}
}

// On any host this must give a verdict (KVM works, or why not) within the probe's bound, and the
// verdict must be cached. On this project's PVM build host the verdict is "does not work".
func TestChooseAccelCachesTheKVMProbe(t *testing.T) {
	bin := needQEMU(t)
	if err := kvmDeviceUsable(); err != nil {
		t.Skipf("/dev/kvm: %v", err)
	}
	t.Setenv("LIMA_CACHE_HOME", t.TempDir())
	t.Setenv("LIMA_QEMU_ACCEL", "")
	first, err := ChooseAccel(context.Background(), bin, limayaml.X8664)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first choice: %+v", first)
	file, _ := probeCacheFile()
	if _, err := os.Stat(file); err != nil {
		t.Fatalf("the probe result was not cached: %v", err)
	}
	second, err := ChooseAccel(context.Background(), bin, limayaml.X8664)
	if err != nil {
		t.Fatal(err)
	}
	if second.Accel != first.Accel {
		t.Fatalf("cached choice %s differs from the first %s", second.Accel, first.Accel)
	}
	if second.Accel == AccelTCG && !strings.Contains(second.Warning, "cached") {
		t.Errorf("second warning %q does not come from the cache", second.Warning)
	}
	if !strings.HasPrefix(file, os.Getenv("LIMA_CACHE_HOME")) || filepath.Base(file) != "results.json" {
		t.Errorf("cache file %s is not under LIMA_CACHE_HOME", file)
	}
}
