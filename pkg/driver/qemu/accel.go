package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/limayaml"
)

// AccelChoice is the accelerator picked for a guest, and why.
type AccelChoice struct {
	Accel string
	// Reason says why, in a few words ("LIMA_QEMU_ACCEL=tcg", "KVM ran a test guest", ...).
	Reason string
	// Warning is non-empty when the choice is a fallback the user should hear about, once.
	Warning string
}

// AccelFacts are the inputs of DecideAccel, gathered by ChooseAccel.
type AccelFacts struct {
	OS                  string        // host GOOS
	HostArch, GuestArch limayaml.Arch // Lima spelling
	// Forced is LIMA_QEMU_ACCEL, or "".
	Forced string
	// KVMDevice is nil when /dev/kvm opens read-write, else why not (Linux only).
	KVMDevice error
	// KVMProbe is nil when the probe guest ran under KVM, else why not. Only consulted when
	// KVMDevice is nil.
	KVMProbe error
	// HVF reports kern.hv_support=1 (macOS only).
	HVF bool
}

// DecideAccel picks the accelerator: a forced one when LIMA_QEMU_ACCEL is set; otherwise for a guest of
// the host's own arch kvm (Linux, only when a probe guest really ran: /dev/kvm alone proves nothing on
// nested or paravirtualised hosts), hvf (macOS) or whpx (Windows); and tcg for everything else.
func DecideAccel(f AccelFacts) (AccelChoice, error) {
	if f.Forced != "" {
		switch f.Forced {
		case AccelKVM, AccelHVF, AccelWHPX, AccelTCG:
		default:
			return AccelChoice{}, fmt.Errorf("%s=%q is not an accelerator; use kvm, hvf, whpx or tcg: %w",
				envknob.LimaQEMUAccel.Name, f.Forced, driver.ErrInvalidConfig)
		}
		if f.Forced != AccelTCG && f.GuestArch != f.HostArch {
			return AccelChoice{}, fmt.Errorf("%s=%s cannot run an %s guest on an %s host; only tcg can: %w",
				envknob.LimaQEMUAccel.Name, f.Forced, f.GuestArch, f.HostArch, driver.ErrInvalidConfig)
		}
		return AccelChoice{Accel: f.Forced, Reason: envknob.LimaQEMUAccel.Name + "=" + f.Forced}, nil
	}
	if f.GuestArch != f.HostArch {
		return AccelChoice{Accel: AccelTCG, Reason: fmt.Sprintf("an %s guest on an %s host is emulated", f.GuestArch, f.HostArch)}, nil
	}
	switch f.OS {
	case "linux":
		return linuxAccel(f), nil
	case "darwin":
		if f.HVF {
			return AccelChoice{Accel: AccelHVF, Reason: "kern.hv_support=1"}, nil
		}
		return AccelChoice{Accel: AccelTCG, Reason: "Hypervisor.framework is not supported (kern.hv_support is not 1)",
			Warning: "Hypervisor.framework is not available on this Mac; falling back to TCG (slow)."}, nil
	case "windows":
		return AccelChoice{Accel: AccelWHPX, Reason: "Windows Hypervisor Platform"}, nil
	}
	return AccelChoice{Accel: AccelTCG, Reason: "no hardware accelerator for " + f.OS}, nil
}

// linuxAccel picks kvm when the KVM probe ran a guest. An unusable /dev/kvm or a failed probe is
// not an error: the guest falls back to tcg, and the choice's Reason (and Warning) say why.
func linuxAccel(f AccelFacts) AccelChoice {
	if f.KVMDevice != nil {
		return AccelChoice{Accel: AccelTCG, Reason: "KVM is not available: " + f.KVMDevice.Error()}
	}
	if f.KVMProbe != nil {
		return AccelChoice{
			Accel:  AccelTCG,
			Reason: "KVM could not run a test guest",
			Warning: fmt.Sprintf("KVM is present but could not run a test guest (%v); falling back to TCG (slow). Set %s=kvm to force it.",
				f.KVMProbe, envknob.LimaQEMUAccel.Name),
		}
	}
	return AccelChoice{Accel: AccelKVM, Reason: "KVM ran a test guest"}
}

// ChooseAccel gathers AccelFacts on this host and decides. On Linux it probes KVM with
// ProbeKVM, whose answer is cached (see probeCache), so the probe costs a few seconds once per QEMU
// binary and kernel, not on every start. The caller logs the choice's Warning.
func ChooseAccel(ctx context.Context, qemuBinary string, guestArch limayaml.Arch) (AccelChoice, error) {
	f := AccelFacts{OS: runtime.GOOS, HostArch: HostArch(), GuestArch: guestArch, Forced: strings.TrimSpace(envknob.LimaQEMUAccel.Get())}
	if f.Forced == "" && f.GuestArch == f.HostArch {
		switch f.OS {
		case "linux":
			f.KVMDevice = kvmDeviceUsable()
			if f.KVMDevice == nil {
				f.KVMProbe = cachedProbeKVM(ctx, qemuBinary)
			}
		case "darwin":
			out, err := exec.CommandContext(ctx, "sysctl", "-n", "kern.hv_support").Output()
			f.HVF = err == nil && strings.TrimSpace(string(out)) == "1"
		}
	}
	return DecideAccel(f)
}

// kvmDeviceUsable reports why /dev/kvm cannot be used, or nil.
func kvmDeviceUsable() error {
	f, err := os.OpenFile("/dev/kvm", os.O_RDWR, 0)
	if err != nil {
		return err
	}
	return f.Close()
}

// HostArch returns the host CPU in Lima's spelling.
func HostArch() limayaml.Arch {
	switch runtime.GOARCH {
	case "amd64":
		return limayaml.X8664
	case "arm64":
		return limayaml.AARCH64
	case "arm":
		return limayaml.ARMV7L
	case "ppc64le":
		return limayaml.PPC64LE
	case "riscv64":
		return limayaml.RISCV64
	case "s390x":
		return limayaml.S390X
	}
	return runtime.GOARCH
}
