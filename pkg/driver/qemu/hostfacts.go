package qemu

import (
	"path/filepath"

	"github.com/limactl/limactl/pkg/limayaml"
)

// Accelerator names, as QEMU's -accel spells them.
const (
	AccelKVM  = "kvm"
	AccelHVF  = "hvf"
	AccelWHPX = "whpx"
	AccelTCG  = "tcg"
)

// HostFacts is what Plan needs to know about the host. GatherHostFacts collects it; tests write it by
// hand, which is what keeps Plan pure.
type HostFacts struct {
	// OS is the host's GOOS ("linux", "darwin", "windows").
	OS string
	// Arch is the host CPU in Lima's spelling (limayaml.X8664, limayaml.AARCH64, ...).
	Arch limayaml.Arch
	// Accel is the accelerator to use for this guest: AccelKVM, AccelHVF, AccelWHPX or AccelTCG.
	// ChooseAccel picks it.
	Accel string
	// AccelWarning is ChooseAccel's warning about a fallback to tcg the user should hear of, or "".
	AccelWarning string
	// QEMUBinary is the qemu-system-<arch> to run. Empty means "qemu-system-<arch>" looked up in $PATH.
	QEMUBinary string
	// QEMUVersion is what `qemu-system-<arch> --version` reports, e.g. "7.2.22". Informational.
	QEMUVersion string
	// HomeDir is the user's home directory (for ~/.local/share/qemu firmware).
	HomeDir string
	// FirmwarePaths lists firmware files that exist on the host, among FirmwareCandidates.
	FirmwarePaths []string
	// Virtiofsd is the virtiofsd binary, or "" when none was found (virtiofs mounts then fail to plan).
	Virtiofsd string
	// VirtiofsdReadOnly is set when Virtiofsd has a --readonly option (recent Rust virtiofsd; the C
	// virtiofsd of QEMU has none).
	VirtiofsdReadOnly bool
	// TempDir is where a short socket directory goes when the instance directory is too long for
	// Unix socket paths ("/tmp" on Unix hosts).
	TempDir string
	// Ivshmem: the QEMU binary has the ivshmem-plain device (asked on Linux when Start gathers the
	// facts; some builds, RHEL's, leave it out).
	Ivshmem bool
	// TunnelRing is set when QEMU gets the memory of the guest agent tunnel's ring as fd 3
	// (tunnelRingFD; Start makes it, on Linux): the plan adds an ivshmem-plain device for it.
	TunnelRing bool
	// UID is the user's id, part of the short socket directory's name.
	UID int
	// UsernetSockets maps each user-v2 network (networks.yaml name) the instance is attached to, to
	// the Unix socket its usernet process accepts QEMU on. A networks entry whose network is not
	// here is refused.
	UsernetSockets map[string]string
	// DiskFormats is the recorded format (qcow2, raw) of each additional disk, by disk name; Start
	// fills it from pkg/disk's record. Every additional disk needs one: QEMU is never left to probe
	// an image the guest writes.
	DiskFormats map[string]string
}

// QEMUShareDir returns QEMU's data directory (<prefix>/share/qemu) derived from the binary's path, or ""
// when the binary is not an absolute path.
func (h HostFacts) QEMUShareDir() string {
	if !filepath.IsAbs(h.QEMUBinary) {
		return ""
	}
	return filepath.Join(filepath.Dir(filepath.Dir(h.QEMUBinary)), "share", "qemu")
}

// BinaryName returns the qemu-system-* program name for a guest arch.
func BinaryName(arch limayaml.Arch) string {
	switch arch {
	case limayaml.ARMV7L:
		return "qemu-system-arm"
	case limayaml.PPC64LE:
		return "qemu-system-ppc64"
	}
	return "qemu-system-" + arch
}
