package qemu

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// GatherHostFacts looks at this host: the QEMU binary for guestArch and its version, installed
// firmware, virtiofsd, and (when probeAccel is set, as for Start) whether QEMU has ivshmem-plain
// (Linux) and the accelerator, which may run the cached KVM probe
// and leaves its fallback warning in AccelWarning for the caller to log. Without probeAccel, Accel is tcg: enough to plan and validate.
func GatherHostFacts(ctx context.Context, guestArch limayaml.Arch, probeAccel bool) (HostFacts, error) {
	h := HostFacts{OS: runtime.GOOS, Arch: HostArch(), Accel: AccelTCG, TempDir: socketTempDir(), UID: os.Getuid()}
	h.HomeDir, _ = os.UserHomeDir()
	name := BinaryName(guestArch)
	bin, err := exec.LookPath(name)
	if err != nil {
		return h, fmt.Errorf("%s is not installed; install QEMU (Debian/Ubuntu: apt-get install qemu-system-x86 qemu-utils ovmf; macOS: brew install qemu): %w",
			name, driver.ErrUnsupported)
	}
	h.QEMUBinary = bin
	// Start asks for the tunnel ring's device beside the version (each is a QEMU run of ~50 ms).
	ivshmem := make(chan bool, 1)
	if probeAccel && h.OS == "linux" {
		go func() { ivshmem <- qemuHasDevice(ctx, bin, "ivshmem-plain") }()
	} else {
		ivshmem <- false
	}
	if out, err := exec.CommandContext(ctx, bin, "--version").Output(); err == nil {
		h.QEMUVersion = parseQEMUVersion(string(out))
	}
	h.Ivshmem = <-ivshmem
	seen := map[string]bool{}
	for _, arch := range []limayaml.Arch{limayaml.X8664, limayaml.AARCH64} {
		for _, c := range FirmwareCandidates(arch, h) {
			if !seen[c] {
				seen[c] = true
				if st, err := os.Stat(c); err == nil && st.Mode().IsRegular() {
					h.FirmwarePaths = append(h.FirmwarePaths, c)
				}
			}
		}
	}
	if h.Virtiofsd = findVirtiofsd(); h.Virtiofsd != "" {
		h.VirtiofsdReadOnly = virtiofsdHasReadOnly(ctx, h.Virtiofsd)
	}
	if probeAccel {
		choice, err := ChooseAccel(ctx, bin, guestArch)
		if err != nil {
			return h, err
		}
		h.AccelWarning = choice.Warning
		logrus.Debugf("qemu accelerator: %s (%s)", choice.Accel, choice.Reason)
		h.Accel = choice.Accel
	}
	return h, nil
}

// findVirtiofsd returns the virtiofsd binary to use, or "" when there is none.
func findVirtiofsd() string {
	for _, c := range []string{"/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd", "/usr/lib/virtiofsd"} {
		if st, err := os.Stat(c); err == nil && st.Mode()&0o111 != 0 {
			return c
		}
	}
	p, _ := exec.LookPath("virtiofsd")
	return p
}

var qemuVersionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`version (\d+\.\d+(\.\d+)?)`)
})

func parseQEMUVersion(out string) string {
	if m := qemuVersionRE().FindStringSubmatch(out); m != nil {
		return m[1]
	}
	return ""
}

// socketTempDir is where short socket directories go. It is fixed rather than $TMPDIR, so that every
// process (limactl, the host agent, a service manager) computes the same socket paths.
func socketTempDir() string {
	if runtime.GOOS == "windows" {
		return os.TempDir()
	}
	return "/tmp"
}

// deviceSupport caches qemuHasDevice per binary and device.
var deviceSupport sync.Map // "binary\x00device" -> bool

// qemuHasDevice reports whether the QEMU binary has the device model (`-device NAME,help` lists its
// options; for a device it lacks, QEMU 7.2 prints an error and still exits 0). Distributions leave
// some out (RHEL's ivshmem, for one). Cached for the process.
func qemuHasDevice(ctx context.Context, bin, device string) bool {
	key := bin + "\x00" + device
	if v, ok := deviceSupport.Load(key); ok {
		return v.(bool)
	}
	out, err := exec.CommandContext(ctx, bin, "-machine", "none", "-device", device+",help").Output()
	ok := err == nil && strings.Contains(string(out), device+" options:")
	deviceSupport.Store(key, ok)
	return ok
}
