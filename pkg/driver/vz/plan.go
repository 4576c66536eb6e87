package vz

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Rosetta availability, as HostFacts reports it.
const (
	RosettaUnsupported  = "unsupported"
	RosettaNotInstalled = "not-installed"
	RosettaInstalled    = "installed"
)

// HostFacts is what Plan needs to know about the host. GatherHostFacts collects it on a Mac; tests
// write it by hand, which keeps Plan pure.
type HostFacts struct {
	// MacOSVersion is e.g. "14.5"; "" when unknown (then no version check is made).
	MacOSVersion string `json:"macOSVersion"`
	// Arch is the host CPU in Lima's spelling (limayaml.AARCH64 or limayaml.X8664).
	Arch limayaml.Arch `json:"arch"`
	// NestedVirtualization: Virtualization.framework says this Mac can nest (macOS 15+, M3 or later).
	NestedVirtualization bool `json:"nestedVirtualization"`
	// Rosetta is RosettaUnsupported, RosettaNotInstalled or RosettaInstalled.
	Rosetta string `json:"rosetta"`
	// MaxCPUs is the most vCPUs Virtualization.framework allows; 0 when unknown.
	MaxCPUs uint `json:"maxCPUs"`
}

// Plan computes the virtual machine for cfg on host. It reads nothing from the host. Errors wrap
// driver.ErrInvalidConfig (lima.yaml asks for something vz cannot do; the message names the field) or
// driver.ErrUnsupported (this Mac cannot do it).
//
// limayaml.Validate already refuses these configurations for the user with the same advice; Plan
// refuses them again because it is the driver's own precondition and is called without Validate in
// tests and by other tools. It does not repeat limayaml's warnings (the Intel Mac before macOS 13.5
// kernel issue): it records them as a Note only.
func Plan(cfg driver.Config, host HostFacts) (*Spec, error) {
	y := cfg.Config
	if y == nil {
		return nil, fmt.Errorf("vz: no configuration: %w", driver.ErrInvalidConfig)
	}
	if cfg.InstanceDir == "" {
		return nil, fmt.Errorf("vz: no instance directory: %w", driver.ErrInvalidConfig)
	}
	if v := host.MacOSVersion; v != "" && !limayaml.VersionAtLeast(v, 13, 0) {
		return nil, fmt.Errorf("vz: vmType vz needs macOS 13 or later, and this Mac runs macOS %s; upgrade macOS or set vmType: qemu: %w", v, driver.ErrUnsupported)
	}
	if deref(y.Firmware.LegacyBIOS) {
		return nil, fmt.Errorf("vz: firmware.legacyBIOS: true is not possible, vz boots only with UEFI; set firmware.legacyBIOS: false, or use vmType: qemu for guests that need a BIOS: %w", driver.ErrInvalidConfig)
	}
	arch := deref(y.Arch)
	if arch == "" {
		arch = host.Arch
	}
	if arch != host.Arch {
		return nil, fmt.Errorf("vz: arch %s differs from the host's %s, and vz runs only guests of the host's arch; set arch: %s, or use vmType: qemu to emulate %s: %w",
			arch, host.Arch, host.Arch, arch, driver.ErrInvalidConfig)
	}
	if len(y.Firmware.Images) > 0 {
		return nil, fmt.Errorf("vz: firmware.images cannot be used, vz has its own UEFI firmware; remove firmware.images or use vmType: qemu: %w", driver.ErrInvalidConfig)
	}

	dir := cfg.InstanceDir
	inDir := func(name string) string { return filepath.Join(dir, name) }
	s := &Spec{
		Name:          cfg.Name,
		Platform:      Platform{MachineIdentifier: inDir(filenames.VZIdentifier)},
		Console:       Console{LogPath: inDir(filenames.SerialVirtLog)},
		Vsock:         true,
		MemoryBalloon: true,
		Entropy:       true,
		PIDFile:       inDir(filenames.PIDFile(limayaml.VZ)),
	}
	note := func(format string, a ...any) { s.Notes = append(s.Notes, fmt.Sprintf(format, a...)) }
	require := func(path, madeBy string) { s.Requires = append(s.Requires, Required{Path: path, MadeBy: madeBy}) }
	require(s.Platform.MachineIdentifier, "Create")

	if host.Arch == limayaml.X8664 && host.MacOSVersion != "" && !limayaml.VersionAtLeast(host.MacOSVersion, 13, 5) {
		note("Intel Mac before macOS 13.5: Linux 6.2 kernels do not boot under vz; 6.3 and later boot when started through GRUB (limayaml warns about this)")
	}

	// CPUs and memory.
	cpus := 1
	if y.CPUs != nil && *y.CPUs > 0 {
		cpus = *y.CPUs
	}
	s.CPUs = uint(cpus)
	if host.MaxCPUs > 0 && s.CPUs > host.MaxCPUs {
		note("cpus: %d is more than vz allows on this Mac; using %d", cpus, host.MaxCPUs)
		s.CPUs = host.MaxCPUs
	}
	mem, err := units.RAMInBytes(deref(y.Memory))
	if err != nil || mem < 1<<20 {
		return nil, fmt.Errorf("vz: memory %q is not a size like \"4GiB\": %w", deref(y.Memory), driver.ErrInvalidConfig)
	}
	if mem%(1<<20) != 0 {
		note("memory %s is rounded down to a whole MiB, as vz requires", deref(y.Memory))
		mem -= mem % (1 << 20)
	}
	s.MemoryBytes = uint64(mem)

	// Boot loader.
	if img := bootImage(y, arch); img != nil && img.Kernel != nil {
		s.Boot = BootLoader{Kind: BootLinux, Kernel: inDir(filenames.Kernel), CommandLine: kernelCmdline(img.Kernel.Cmdline)}
		require(s.Boot.Kernel, "the image download (images[].kernel)")
		if img.Initrd != nil {
			s.Boot.Initrd = inDir(filenames.Initrd)
			require(s.Boot.Initrd, "the image download (images[].initrd)")
		}
		if s.Boot.CommandLine != img.Kernel.Cmdline {
			note("console=hvc0 is added to the kernel command line, so kernel messages reach serialv.log")
		}
		if arch == limayaml.AARCH64 {
			note("direct kernel boot on arm64 needs an uncompressed kernel Image; vz cannot load a compressed vmlinuz")
		}
	} else {
		s.Boot = BootLoader{Kind: BootEFI, EFIVariableStore: inDir(filenames.VZEfi)}
		require(s.Boot.EFIVariableStore, "Create")
	}

	// Nested virtualization.
	if deref(y.NestedVirtualization) {
		switch {
		case host.MacOSVersion != "" && !limayaml.VersionAtLeast(host.MacOSVersion, 15, 0):
			return nil, fmt.Errorf("vz: nestedVirtualization: true needs macOS 15 or later, and this Mac runs macOS %s; upgrade macOS or set nestedVirtualization: false: %w",
				host.MacOSVersion, driver.ErrUnsupported)
		case !host.NestedVirtualization:
			return nil, fmt.Errorf("vz: nestedVirtualization: true needs an M3 or later chip, and Virtualization.framework says this Mac cannot nest; set nestedVirtualization: false: %w",
				driver.ErrUnsupported)
		}
		s.Platform.NestedVirtualization = true
	}

	// Disks: the boot disk first (vda), then cidata, then additional disks.
	s.Disks = append(s.Disks, Disk{Role: DiskRoleBoot, Path: inDir(filenames.Disk), Caching: CachingCached, Sync: SyncFsync})
	require(inDir(filenames.Disk), "CreateDisk")
	s.Disks = append(s.Disks, Disk{Role: DiskRoleCIData, Path: inDir(filenames.CIDataISO), ReadOnly: true, Caching: CachingCached, Sync: SyncFsync})
	require(inDir(filenames.CIDataISO), "the host agent (cidata)")
	disksDir := filepath.Join(filepath.Dir(dir), filenames.DisksDir)
	for _, d := range y.AdditionalDisks {
		p := filepath.Join(disksDir, d.Name, "datadisk")
		s.Disks = append(s.Disks, Disk{Role: DiskRoleAdditional, Path: p, Caching: CachingCached, Sync: SyncFsync, Identifier: diskIdentifier(d.Name)})
		require(p, "limactl disk create (the disk must be raw for vz)")
	}
	note("disks use cached caching with fsync synchronization (guards against disk corruption seen on arm64 with the defaults)")

	// Networks: the built-in NAT, plus one NAT NIC per networks[] entry with vzNAT: true.
	s.Networks = append(s.Networks, Network{Attachment: NetworkNAT, MAC: driver.MACAddress(dir)})
	for i, n := range y.Networks {
		if !deref(n.VZNAT) {
			return nil, fmt.Errorf("vz: networks[%d]: only vzNAT: true networks are supported by this driver yet; remove the entry or set vzNAT: true: %w", i, driver.ErrUnsupported)
		}
		mac := n.MACAddress
		if mac == "" {
			mac = driver.MACAddress(dir + "#" + strconv.Itoa(i+1))
		}
		s.Networks = append(s.Networks, Network{Attachment: NetworkNAT, MAC: mac})
	}

	// Mounts.
	switch mt := deref(y.MountType); mt {
	case limayaml.VIRTIOFS:
		for _, m := range y.Mounts {
			mp := m.Location
			if m.MountPoint != nil && *m.MountPoint != "" {
				mp = *m.MountPoint
			}
			tag := driver.MountTag(m.Location, mp)
			s.Shares = append(s.Shares, Share{Tag: tag, HostPath: m.Location, ReadOnly: !deref(m.Writable), MountPoint: mp})
		}
	case limayaml.NINEP:
		return nil, fmt.Errorf("vz: mountType: 9p is not available with vz; set mountType: virtiofs: %w", driver.ErrInvalidConfig)
	case "", limayaml.REVSSHFS:
		// Mounted over SSH by the host agent; no device.
	default:
		return nil, fmt.Errorf("vz: mountType %q is not available with vz; set mountType: virtiofs: %w", mt, driver.ErrInvalidConfig)
	}

	// Rosetta.
	if rosettaEnabled(y) {
		switch {
		case host.Arch != limayaml.AARCH64:
			note("vmOpts.vz.rosetta is ignored: Rosetta exists only on Apple silicon")
		case host.Rosetta == RosettaInstalled:
			s.Rosetta = &Rosetta{Tag: RosettaTag}
		case host.Rosetta == RosettaNotInstalled:
			s.Rosetta = &Rosetta{Tag: RosettaTag, Install: true}
			note("Rosetta is not installed; Virtualization.framework is asked to install it")
		default:
			return nil, fmt.Errorf("vz: vmOpts.vz.rosetta.enabled: true, but this Mac does not support Rosetta for Linux (it needs macOS 13 or later on Apple silicon); set it to false: %w", driver.ErrUnsupported)
		}
	}

	if cfg.SSHLocalPort > 0 {
		s.SSHForward = &SSHForward{HostAddress: "127.0.0.1:" + strconv.Itoa(cfg.SSHLocalPort), VsockPort: SSHVsockPort}
	}
	note("serial.log stays empty under vz: the guest has no serial port; its console (/dev/hvc0) is logged to serialv.log")
	return s, nil
}

// rosettaEnabled reads vmOpts.vz.rosetta.enabled, or the deprecated top-level rosetta.enabled.
func rosettaEnabled(y *limayaml.LimaYAML) bool {
	return deref(y.VMOpts.VZ.Rosetta.Enabled) || deref(y.Rosetta.Enabled)
}

func rosettaBinFmt(y *limayaml.LimaYAML) bool {
	return deref(y.VMOpts.VZ.Rosetta.BinFmt) || deref(y.Rosetta.BinFmt)
}

// bootImage returns the images[] entry for arch: the first whose arch matches (or is unset).
func bootImage(y *limayaml.LimaYAML, arch limayaml.Arch) *limayaml.Image {
	for i := range y.Images {
		if y.Images[i].Arch == "" || y.Images[i].Arch == arch {
			return &y.Images[i]
		}
	}
	return nil
}

// kernelCmdline adds console=hvc0 unless the command line already names a console: under vz the
// virtio console is the only one the host logs.
func kernelCmdline(c string) string {
	for _, f := range strings.Fields(c) {
		if strings.HasPrefix(f, "console=") {
			return c
		}
	}
	return strings.TrimSpace(c + " console=hvc0")
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
