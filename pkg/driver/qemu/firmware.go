package qemu

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/limactl/limactl/pkg/limayaml"
)

// FirmwareCandidates lists, most preferred first, where UEFI code for a guest arch may be installed:
// the user's own copy, QEMU's bundled edk2 builds (Homebrew, source installs, QEMU's share dir), then the
// distribution packages (Debian/Ubuntu ovmf and qemu-efi-aarch64, Fedora edk2, Arch edk2).
func FirmwareCandidates(arch limayaml.Arch, h HostFacts) []string {
	var out []string
	add := func(p string) {
		if p != "" && !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	edk2 := "edk2-" + arch + "-code.fd"
	if h.HomeDir != "" {
		add(filepath.Join(h.HomeDir, ".local", "share", "qemu", edk2))
	}
	if share := h.QEMUShareDir(); share != "" {
		add(filepath.Join(share, edk2))
	}
	for _, prefix := range []string{"/opt/homebrew", "/usr/local", "/usr"} {
		add(filepath.Join(prefix, "share", "qemu", edk2))
	}
	switch arch {
	case limayaml.X8664:
		add("/usr/share/OVMF/OVMF_CODE_4M.fd")
		add("/usr/share/OVMF/OVMF_CODE.fd")
		add("/usr/share/edk2/ovmf/OVMF_CODE.fd")
		add("/usr/share/edk2/x64/OVMF_CODE.4m.fd")
		add("/usr/share/qemu/OVMF.fd")
	case limayaml.AARCH64:
		add("/usr/share/AAVMF/AAVMF_CODE.fd")
		add("/usr/share/edk2/aarch64/QEMU_EFI-pflash.raw")
		add("/usr/share/qemu-efi-aarch64/QEMU_EFI.fd")
		add("/usr/share/edk2/aarch64/QEMU_EFI.fd")
	}
	return out
}

// findFirmware returns the first candidate present in h.FirmwarePaths.
func findFirmware(arch limayaml.Arch, h HostFacts) string {
	for _, c := range FirmwareCandidates(arch, h) {
		if slices.Contains(h.FirmwarePaths, c) {
			return c
		}
	}
	return ""
}

// firmwareArgs returns the QEMU arguments that load UEFI code from path. Flash images are mapped as
// read-only pflash; a plain QEMU_EFI.fd is not padded to the 64 MiB flash size aarch64's virt machine
// requires, so it is loaded with -bios instead.
func firmwareArgs(path string) []string {
	if strings.HasSuffix(path, "/QEMU_EFI.fd") {
		return []string{"-bios", path}
	}
	return []string{"-drive", "if=pflash,format=raw,readonly=on,file=" + path}
}
