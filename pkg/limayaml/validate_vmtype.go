package limayaml

import (
	"fmt"
	"slices"
	"strings"

	"github.com/docker/go-units"
	"github.com/sirupsen/logrus"
)

// The checks below depend on the driver chosen by vmType and on the host (Host): what the driver
// can run here, and which options it cannot honour.

// ValidateTemplate is Validate for `limactl validate`: a template is valid or not whatever host
// it is checked on, as in Lima, so a vz or wsl2 template validates on Linux. What only this host
// cannot do (the driver's host OS and version, a guest arch other than the host's where the
// driver cannot emulate, qemu's mount types here) is logged as a warning instead of an error.
// `limactl create` and `start` use Validate, and still refuse such a config on this host.
func ValidateTemplate(y *LimaYAML, warn bool) error {
	return validate(y, &validator{warn: warn, anyHost: true})
}

// hostf reports a problem of this host, not of the config: an error, or for ValidateTemplate a
// warning (always logged: it is the one thing the user learns about this host).
func (v *validator) hostf(field, format string, args ...any) {
	if !v.anyHost {
		v.errf(field, format, args...)
		return
	}
	logrus.Warnf("field %#q: %s; the template itself is valid, only this host cannot run it", field, fmt.Sprintf(format, args...))
}

func (v *validator) validateVMType(y *LimaYAML) {
	switch vm := val(y.VMType); vm {
	case QEMU:
		v.validateQEMU(y)
	case VZ:
		v.validateVZ(y)
	case WSL2:
		v.validateWSL2(y)
	default:
		v.errf("vmType", "unknown vmType %q: use one of %s", vm, strings.Join(VMTypes, ", "))
	}
}

func (v *validator) validateQEMU(y *LimaYAML) {
	supported := map[string][]MountType{
		"linux":   {REVSSHFS, NINEP, VIRTIOFS},
		"darwin":  {REVSSHFS, NINEP},
		"windows": {REVSSHFS},
	}[Host().OS]
	mt := val(y.MountType)
	if supported != nil && slices.Contains(MountTypes, mt) && !slices.Contains(supported, mt) {
		v.hostf("mountType", "vmType qemu on a %s host supports %s, not %q", Host().OS, strings.Join(supported, ", "), mt)
	}
	if val(y.SSH.OverVsock) {
		v.warnf("ssh.overVsock", "ssh over vsock is not implemented for vmType qemu; ssh goes through the forwarded port")
	}
	if mt == VIRTIOFS && Host().OS == "linux" {
		v.warnf("mountType", "virtiofs with qemu on Linux is experimental")
	}
}

// validateVZ enforces what Apple's Virtualization.framework can do: macOS 13+, the host's own
// arch, UEFI only, no 9p, no TPM, no custom firmware, no Windows guests.
func (v *validator) validateVZ(y *LimaYAML) {
	switch {
	case Host().OS != "darwin":
		v.hostf("vmType", "vmType vz needs macOS 13 or later, and this host runs %s: use vmType qemu", Host().OS)
	case Host().MacOSVersion == "":
		// The version could not be read: let Virtualization.framework itself refuse if it must.
	case !VersionAtLeast(Host().MacOSVersion, 13, 0):
		v.hostf("vmType", "vmType vz needs macOS 13 or later, and this host runs macOS %s: upgrade macOS or use vmType qemu", Host().MacOSVersion)
	case Host().Arch == X8664 && !VersionAtLeast(Host().MacOSVersion, 13, 5):
		v.warnf("vmType", "on Intel Macs before macOS 13.5, vz cannot boot Linux 6.2 kernels (Ubuntu 23.04, Fedora 38...); kernels 6.3 and later boot when started through GRUB. Upgrade macOS to 13.5 or use vmType qemu")
	}
	if val(y.Firmware.LegacyBIOS) {
		v.errf("firmware.legacyBIOS", "vmType vz boots only with UEFI: set legacyBIOS: false, or use vmType qemu for guests that need BIOS")
	}
	if arch := val(y.Arch); arch != Host().Arch {
		v.hostf("arch", "vmType vz runs only guests of the host's arch (%s), not %s: use vmType qemu to emulate %s", Host().Arch, arch, arch)
	}
	if val(y.MountType) == NINEP {
		v.errf("mountType", "vmType vz does not support 9p: use virtiofs (or reverse-sshfs)")
	}
	if val(y.MountType) == WSLMount {
		v.errf("mountType", "mount type wsl2 works only with vmType wsl2: use virtiofs")
	}
	if val(y.TPM) {
		v.errf("tpm", "vmType vz has no TPM: set tpm: false or use vmType qemu")
	}
	if len(y.Firmware.Images) > 0 {
		v.errf("firmware.images", "vmType vz uses its own UEFI firmware: remove firmware.images or use vmType qemu")
	}
	if val(y.OS) == WINDOWS {
		v.errf("os", "vmType vz cannot run Windows guests: use vmType qemu")
	}
}

// wslTarSuffixes are the rootfs archive formats wsl.exe --import accepts.
var wslTarSuffixes = []string{".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz", ".tar.zst", ".tar.zstd", ".tzst", ".tar.bz2", ".tbz2", ".wsl"}

// validateWSL2 refuses every option WSL2 cannot honour. WSL2 shares the host kernel's VM, so it has
// no per-distro CPU, memory or disk size, no firmware, display, sound or TPM, no extra disks or
// NICs, and host folders appear only through its own /mnt/<drive> mounts. Refused by name:
// mountType other than wsl2, additionalDisks, networks, portForwards with sockets,
// firmware.legacyBIOS, firmware.images, video.display, audio.device, tpm, cpus, memory, disk
// (when they differ from the defaults), vmOpts.vz.rosetta, nestedVirtualization, and guest os or
// arch other than Linux on the host's arch.
func (v *validator) validateWSL2(y *LimaYAML) {
	switch {
	case Host().OS != "windows":
		v.hostf("vmType", "vmType wsl2 needs Windows 10 build 19041 or later (or Windows 11), and this host runs %s: use vmType qemu", Host().OS)
	case Host().WindowsBuild != 0 && Host().WindowsBuild < 19041: // 0: the build could not be read
		v.hostf("vmType", "vmType wsl2 needs Windows 10 build 19041 or later (or Windows 11), and this host is build %d: update Windows or use vmType qemu", Host().WindowsBuild)
	}
	for i, img := range y.Images {
		if !hasAnySuffix(strings.ToLower(strings.SplitN(img.Location, "?", 2)[0]), wslTarSuffixes) {
			v.errf(fmt.Sprintf("images[%d].location", i), "%q is not a tar archive: WSL2 imports a root filesystem archive (%s), not a disk image", img.Location, strings.Join(wslTarSuffixes, ", "))
		}
		if img.Kernel != nil || img.Initrd != nil {
			v.errf(fmt.Sprintf("images[%d]", i), "WSL2 boots its own kernel: remove kernel and initrd")
		}
	}
	refuse := func(field, why string) {
		v.errf(field, "vmType wsl2 does not support %s: remove it", why)
	}
	if mt := val(y.MountType); mt != WSLMount {
		v.errf("mountType", "vmType wsl2 shares host folders only with mountType wsl2, not %q", mt)
	}
	if len(y.AdditionalDisks) > 0 {
		refuse("additionalDisks", "additional disks")
	}
	if len(y.Networks) > 0 {
		refuse("networks", "extra networks (the distro uses the WSL2 network)")
	}
	for i, r := range y.PortForwards {
		if r.GuestSocket != "" || r.HostSocket != "" {
			refuse(fmt.Sprintf("portForwards[%d]", i), "forwarding Unix sockets")
		}
	}
	if val(y.Firmware.LegacyBIOS) {
		refuse("firmware.legacyBIOS", "choosing the firmware")
	}
	if len(y.Firmware.Images) > 0 {
		refuse("firmware.images", "firmware images")
	}
	if d := val(y.Video.Display); d != "" && d != "none" {
		refuse("video.display", "a display")
	}
	if val(y.Audio.Device) != "" {
		refuse("audio.device", "sound devices")
	}
	if val(y.TPM) {
		refuse("tpm", "a TPM")
	}
	if y.CPUs != nil && *y.CPUs != DefaultCPUs() {
		refuse("cpus", "a CPU count (WSL2 shares the host's CPUs; set it in .wslconfig)")
	}
	if y.Memory != nil && !sameSize(*y.Memory, DefaultMemory()) {
		refuse("memory", "a memory size (WSL2 shares the host's memory; set it in .wslconfig)")
	}
	if y.Disk != nil && !sameSize(*y.Disk, DefaultDisk) {
		refuse("disk", "a disk size (WSL2 grows its virtual disk on demand)")
	}
	if val(y.VMOpts.VZ.Rosetta.Enabled) || val(y.VMOpts.VZ.Rosetta.BinFmt) {
		refuse("vmOpts.vz.rosetta", "Rosetta")
	}
	if val(y.NestedVirtualization) {
		refuse("nestedVirtualization", "nested virtualization")
	}
	if val(y.OS) != LINUX {
		v.errf("os", "vmType wsl2 runs only Linux guests, not %q", val(y.OS))
	}
	if arch := val(y.Arch); arch != Host().Arch {
		v.hostf("arch", "vmType wsl2 runs only guests of the host's arch (%s), not %s: use vmType qemu", Host().Arch, arch)
	}
}

func hasAnySuffix(s string, suffixes []string) bool {
	for _, suf := range suffixes {
		if strings.HasSuffix(s, suf) {
			return true
		}
	}
	return false
}

func sameSize(a, b string) bool {
	x, err1 := units.RAMInBytes(a)
	y, err2 := units.RAMInBytes(b)
	return err1 == nil && err2 == nil && x == y
}

// ValidateAgainstLatestConfig checks an edited config (yNew) against the instance's current one
// (yLatest): the disk cannot shrink and the vmType cannot change.
func ValidateAgainstLatestConfig(yNew, yLatest []byte) error {
	var n, l LimaYAML
	if _, err := Unmarshal(yNew, &n, "the edited config"); err != nil {
		return err
	}
	if _, err := Unmarshal(yLatest, &l, "the current config"); err != nil {
		return err
	}
	var errs ValidationErrors
	if n.Disk != nil && *n.Disk != "" {
		latest := DefaultDisk
		if l.Disk != nil && *l.Disk != "" {
			latest = *l.Disk
		}
		nb, err1 := units.RAMInBytes(*n.Disk)
		lb, err2 := units.RAMInBytes(latest)
		if err1 == nil && err2 == nil && nb < lb {
			errs = append(errs, &FieldError{Field: "disk", Msg: fmt.Sprintf("shrinking the disk (%s --> %s) is not supported: keep %s or more", latest, *n.Disk, latest)})
		}
	}
	nv, lv := val(n.VMType), val(l.VMType)
	if nv == "" {
		nv = QEMU
	}
	if lv == "" {
		lv = QEMU
	}
	if nv != lv {
		errs = append(errs, &FieldError{Field: "vmType", Msg: fmt.Sprintf("the vmType of an existing instance cannot change (%s --> %s): create a new instance to use %s", lv, nv, nv)})
	}
	return errs.orNil()
}
