package qemu

import (
	"fmt"
	"path/filepath"
	"strings"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// bootImage returns the images[] entry for arch: the first whose arch matches (or is unset).
func bootImage(y *limayaml.LimaYAML, arch limayaml.Arch) *limayaml.Image {
	for i := range y.Images {
		if y.Images[i].Arch == "" || y.Images[i].Arch == arch {
			return &y.Images[i]
		}
	}
	return nil
}

// bootArgs chooses how the guest boots:
//   - direct kernel boot when the image has a kernel: QEMU loads InstanceDir/kernel (and initrd) itself,
//     so no UEFI firmware is mapped and the machine's default BIOS hands over to the kernel;
//   - legacy BIOS (x86_64 only): the machine's default SeaBIOS;
//   - otherwise UEFI: firmware.images (downloaded to qemu-efi-code.fd), else an installed edk2 build.
func bootArgs(p *Plan, cfg driver.Config, host HostFacts, arch limayaml.Arch) error {
	y := cfg.Config
	add := func(args ...string) { p.Args = append(p.Args, args...) }
	inDir := func(name string) string { return filepath.Join(cfg.InstanceDir, name) }

	if img := bootImage(y, arch); img != nil && img.Kernel != nil {
		add("-kernel", inDir(filenames.Kernel))
		p.Requires = append(p.Requires, Required{inDir(filenames.Kernel), "the image download (images[].kernel)"})
		if cmdline := img.Kernel.Cmdline; cmdline != "" {
			add("-append", cmdline)
			p.Files = append(p.Files, File{Path: inDir(filenames.KernelCmdline), Content: []byte(cmdline)})
		}
		if img.Initrd != nil {
			add("-initrd", inDir(filenames.Initrd))
			p.Requires = append(p.Requires, Required{inDir(filenames.Initrd), "the image download (images[].initrd)"})
		}
		p.Notes = append(p.Notes, "direct kernel boot: no UEFI firmware is used")
		return nil
	}
	if deref(y.Firmware.LegacyBIOS) {
		if arch != limayaml.X8664 {
			return fmt.Errorf("qemu: firmware.legacyBIOS is only available for x86_64 guests, not %s; remove it: %w", arch, driver.ErrInvalidConfig)
		}
		p.Notes = append(p.Notes, "legacy BIOS boot")
		return nil
	}
	for _, f := range y.Firmware.Images {
		if (f.VMType == "" || f.VMType == limayaml.QEMU) && (f.Arch == "" || f.Arch == arch) {
			code := inDir(filenames.QemuEfiCodeFD)
			p.Requires = append(p.Requires, Required{code, "the firmware download (firmware.images)"})
			add(firmwareArgs(code)...)
			return nil
		}
	}
	code := findFirmware(arch, host)
	if code == "" {
		pkg := "ovmf"
		if arch == limayaml.AARCH64 {
			pkg = "qemu-efi-aarch64"
		}
		hint := "set firmware.legacyBIOS: true"
		if arch != limayaml.X8664 {
			hint = "set firmware.images"
		}
		return fmt.Errorf("qemu: no UEFI firmware for %s found (looked for %s); install %s (Debian/Ubuntu) or %s: %w",
			arch, strings.Join(FirmwareCandidates(arch, host), ", "), pkg, hint, driver.ErrNotFound)
	}
	add(firmwareArgs(code)...)
	return nil
}

// displayArgs maps video.display and audio.device to devices. With no display the guest gets no video
// device at all; its console is the serial port.
func displayArgs(p *Plan, y *limayaml.LimaYAML, arch limayaml.Arch) {
	add := func(args ...string) { p.Args = append(p.Args, args...) }
	display := deref(y.Video.Display)
	switch display {
	case "", "none":
		add("-display", "none", "-vga", "none")
	default:
		if display == "vnc" {
			vnc := deref(y.Video.VNC.Display)
			if vnc == "" {
				vnc = "127.0.0.1:0,to=9"
			}
			display = "vnc=" + vnc + ",password=on"
		}
		add("-display", display)
		if arch == limayaml.X8664 {
			add("-device", "virtio-vga")
		} else {
			add("-device", "virtio-gpu-pci")
		}
		add("-device", "virtio-keyboard-pci", "-device", "virtio-tablet-pci")
	}
	if dev := deref(y.Audio.Device); dev != "" && dev != "none" {
		add("-audiodev", dev+",id=snd0", "-device", "ich9-intel-hda", "-device", "hda-output,audiodev=snd0")
	}
}
