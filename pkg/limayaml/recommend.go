package limayaml

// Recommendation is the vmType the choosing guide (docs/vmtypes.md) suggests for a host, and why.
type Recommendation struct {
	VMType VMType `json:"vmType"`
	Reason string `json:"reason"`
}

// Recommend follows the guide's flowchart for host h: Windows hosts use wsl2, Linux hosts qemu, and
// macOS hosts vz, unless the whole guest must be another architecture (then qemu, slow), or the host
// is older than macOS 13, where vz does not run. A host that cannot run the recommended type (an old
// Windows build) gets qemu with the reason. The default vmType stays qemu whatever this says.
func Recommend(h HostInfo) Recommendation {
	switch h.OS {
	case "windows":
		if h.WindowsBuild != 0 && h.WindowsBuild < 19041 {
			return Recommendation{QEMU, "wsl2 needs Windows 10 build 19041 or later; this host is older"}
		}
		return Recommendation{WSL2, "Windows host: WSL2 is the native hypervisor (needs a tar rootfs image)"}
	case "darwin":
		if h.MacOSVersion != "" && !VersionAtLeast(h.MacOSVersion, 13, 0) {
			return Recommendation{QEMU, "vz needs macOS 13 or later; this host runs " + h.MacOSVersion}
		}
		reason := "macOS host: Virtualization.framework is the native hypervisor; use qemu only for a guest of another architecture"
		if h.Arch == AARCH64 {
			reason += " (x86_64 programs run fast in an aarch64 guest with vmOpts.vz.rosetta)"
		}
		return Recommendation{VZ, reason}
	default:
		return Recommendation{QEMU, "Linux host: QEMU with KVM when it works, TCG otherwise"}
	}
}
