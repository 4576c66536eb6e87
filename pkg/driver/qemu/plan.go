// Package qemu is the QEMU driver. Its decisions are pure: Plan turns a driver.Config and HostFacts into
// the exact qemu-system-* command line and the files around it, and is golden-tested. The effectful part
// (driver.go, qmp.go, accel.go) gathers host facts, applies the plan and talks to the running QEMU.
//
// Tests: `go test` runs the plan goldens, the accelerator decision, the probe guests under TCG, QMP
// against a machine-less QEMU and qemu-img disk handling. LIMACTL_QEMU_TESTS=1 adds the driver
// conformance suite against real QEMU processes (SeaBIOS, no guest OS, seconds); LIMACTL_E2E=1 also
// boots the test image (hack/build-test-image.sh; LIMACTL_TEST_IMAGE_DIR) and checks it from inside.
// Take /work/coord/vm.lock (or your CI's equivalent) around runs that start QEMU.
package qemu

import (
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/docker/go-units"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/shmring"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// GuestAgentPort is the virtio-serial port name the guest agent listens on
// (/dev/virtio-ports/io.lima-vm.guest_agent.0 in the guest).
const GuestAgentPort = "io.lima-vm.guest_agent.0"

// tunnelRingFD is the tunnel ring's memfd in QEMU (the first of exec.Cmd's ExtraFiles).
const tunnelRingFD = 3

// GuestAgentTunnelPort is the virtio-serial port of the guest agent's tunnel, which carries forwarded
// TCP connections without the guest's sshd (pkg/guestagent/api, tunnel.go).
const GuestAgentTunnelPort = api.TunnelPortName

// Plan is everything needed to launch one instance's QEMU. Applying it makes no decisions.
type Plan struct {
	// Binary is the qemu-system-* program; Args its arguments (without argv[0]).
	Binary string
	Args   []string
	// Accel is the accelerator the plan uses.
	Accel string
	// PIDFile is where QEMU writes its pid (-pidfile).
	PIDFile string
	// SerialLog is the serial console log.
	SerialLog string
	// Sockets are the sockets QEMU listens on.
	Sockets Sockets
	// Dirs are directories to create (0700) before launching, in order.
	Dirs []string
	// Symlinks are links to create (replacing what is there) before launching.
	Symlinks []Symlink
	// Files are files to write before launching.
	Files []File
	// Requires are files that must exist before launching, each with the step that makes it.
	Requires []Required
	// MountDirs are the host folders of 9p and virtiofs mounts, created (0755) before launching when missing.
	MountDirs []string
	// Virtiofsd are the virtiofsd processes to start, and wait for, before QEMU.
	Virtiofsd []VirtiofsdProcess
	// Notes explain choices a user may want to know about (logged at debug level).
	Notes []string
}

// File is a file the plan writes.
type File struct {
	Path    string
	Content []byte
}

// Required is a file the plan expects to exist, and what makes it.
type Required struct {
	Path, MadeBy string
}

// VirtiofsdProcess is one virtiofsd serving one mount.
type VirtiofsdProcess struct {
	Binary string
	Args   []string
	Socket string
	// ReadOnlyBind, when set, is the shared folder of a read-only mount: virtiofsd is started in a
	// private mount namespace where that folder, and every mount below it, is a read-only bind mount
	// of itself, so the kernel refuses every change the guest asks for (needs root).
	ReadOnlyBind string
}

// MakePlan computes the launch plan. It reads nothing from the host: every host-dependent input is in host.
// Errors wrap driver.ErrInvalidConfig (the YAML asks for something impossible), driver.ErrUnsupported
// (not implemented, or not on this host) or driver.ErrNotFound (firmware or virtiofsd not installed).
func MakePlan(cfg driver.Config, host HostFacts) (*Plan, error) {
	y := cfg.Config
	if y == nil {
		return nil, fmt.Errorf("qemu: no configuration: %w", driver.ErrInvalidConfig)
	}
	arch := deref(y.Arch)
	if arch != limayaml.X8664 && arch != limayaml.AARCH64 {
		return nil, fmt.Errorf("qemu: arch %q is not supported yet (x86_64 and aarch64 are): %w", arch, driver.ErrUnsupported)
	}
	if host.Accel == "" {
		return nil, fmt.Errorf("qemu: no accelerator chosen: %w", driver.ErrInvalidConfig)
	}
	if host.Accel != AccelTCG && arch != host.Arch {
		return nil, fmt.Errorf("qemu: accelerator %s cannot run an %s guest on an %s host; only tcg emulates another arch: %w",
			host.Accel, arch, host.Arch, driver.ErrInvalidConfig)
	}
	if cfg.SSHLocalPort <= 0 {
		return nil, fmt.Errorf("qemu: no SSH local port was chosen: %w", driver.ErrInvalidConfig)
	}
	memBytes, err := units.RAMInBytes(deref(y.Memory))
	if err != nil || memBytes < 1<<20 {
		return nil, fmt.Errorf("qemu: memory %q is not a size like \"4GiB\": %w", deref(y.Memory), driver.ErrInvalidConfig)
	}
	memMiB := memBytes >> 20
	cpus := 1
	if y.CPUs != nil && *y.CPUs > 0 {
		cpus = *y.CPUs
	}
	for i, nw := range y.Networks {
		if _, ok := host.UsernetSockets[nw.Lima]; nw.Lima == "" || !ok {
			return nil, fmt.Errorf("qemu: networks[%d]: only `lima: NAME` entries naming a user-v2 network of networks.yaml are supported yet (socket:, vzNAT and socket_vmnet networks are not); remove it to use the built-in user-mode network: %w", i, driver.ErrUnsupported)
		}
		if nw.MACAddress == "" {
			return nil, fmt.Errorf("qemu: networks[%d] has no macAddress (FillDefault sets it): %w", i, driver.ErrInvalidConfig)
		}
	}
	if y.TPM != nil && *y.TPM {
		return nil, fmt.Errorf("qemu: tpm is not supported yet; set tpm: false: %w", driver.ErrUnsupported)
	}

	dir := cfg.InstanceDir
	inDir := func(name string) string { return filepath.Join(dir, name) }
	p := &Plan{
		Binary:    host.QEMUBinary,
		Accel:     host.Accel,
		PIDFile:   inDir(filenames.PIDFile(limayaml.QEMU)),
		SerialLog: inDir(filenames.SerialLog),
	}
	if p.Binary == "" {
		p.Binary = BinaryName(arch)
	}
	add := func(args ...string) { p.Args = append(p.Args, args...) }
	note := func(format string, a ...any) { p.Notes = append(p.Notes, fmt.Sprintf(format, a...)) }

	mountType := deref(y.MountType)
	var virtiofsMounts []limayaml.Mount
	if mountType == limayaml.VIRTIOFS {
		virtiofsMounts = y.Mounts
	}
	p.Sockets, p.Dirs, p.Symlinks, err = planSockets(cfg, host, len(virtiofsMounts))
	if err != nil {
		return nil, err
	}
	if p.Sockets.Dir != dir {
		note("the instance directory is too long for Unix socket paths; sockets live in %s, linked from the instance directory", p.Sockets.Dir)
	}

	add("-name", "lima-"+cfg.Name)
	add("-nodefaults")
	machineArgs(p, arch, host.Accel)
	add("-cpu", cpuType(p, y, arch, host.Accel))
	add("-smp", fmt.Sprintf("%d,sockets=1,cores=%d,threads=1", cpus, cpus))
	add("-m", strconv.FormatInt(memMiB, 10))

	if err := bootArgs(p, cfg, host, arch); err != nil {
		return nil, err
	}

	// The boot disk is the first virtio-blk device, so the guest sees it as /dev/vda.
	add("-drive", "file="+inDir(filenames.Disk)+",if=none,format=qcow2,discard=on,id=boot-disk")
	add("-device", "virtio-blk-pci,drive=boot-disk,bootindex=1")
	p.Requires = append(p.Requires, Required{inDir(filenames.Disk), "CreateDisk"})
	disksDir := filepath.Join(filepath.Dir(dir), filenames.DisksDir)
	for _, d := range y.AdditionalDisks {
		// The device's serial makes the disk /dev/disk/by-id/virtio-lima-NAME in the guest (virtio-blk
		// keeps 20 bytes of it); -drive has no serial option, so the drive and device are separate.
		// The format is always named: the guest writes the image, and QEMU must not guess its format
		// from what the guest wrote (a qcow2 header naming a host file as backing file).
		file := filepath.Join(disksDir, d.Name, "datadisk")
		format := host.DiskFormats[d.Name]
		if format != "qcow2" && format != "raw" {
			return nil, fmt.Errorf("qemu: additional disk %q has format %q; only qcow2 and raw disks are attached, with their recorded format: %w",
				d.Name, format, driver.ErrInvalidConfig)
		}
		add("-drive", "file="+file+",if=none,discard=on,id=adisk-"+d.Name+",format="+format)
		add("-device", "virtio-blk-pci,drive=adisk-"+d.Name+",serial=lima-"+d.Name)
		p.Requires = append(p.Requires, Required{file, "`limactl disk create " + d.Name + " --size SIZE`"})
	}
	// cidata as a read-only CD on virtio-scsi, as Lima attaches it; cloud-init finds it by its label.
	cidata := inDir(filenames.CIDataISO)
	add("-drive", "id=cdrom0,if=none,format=raw,readonly=on,file="+cidata)
	add("-device", "virtio-scsi-pci,id=scsi0")
	add("-device", "scsi-cd,bus=scsi0.0,drive=cdrom0")
	p.Requires = append(p.Requires, Required{cidata, "the host agent (cidata)"})

	add("-netdev", fmt.Sprintf("user,id=net0,net=192.168.5.0/24,dhcpstart=192.168.5.15,hostfwd=tcp:127.0.0.1:%d-:22", cfg.SSHLocalPort))
	add("-device", "virtio-net-pci,netdev=net0,mac="+driver.MACAddress(dir))
	// Each user-v2 network is a second (third, ...) NIC on a stream netdev connected to the
	// network's usernet process (QEMU 7.2+), in networks[] order, so the guest sees lima0, lima1, ...
	// after eth0 and cidata's network-config names them by MAC.
	for i, nw := range y.Networks {
		id := fmt.Sprintf("net%d", i+1)
		add("-netdev", "stream,id="+id+",server=off,addr.type=unix,addr.path="+qemuOptEscape(host.UsernetSockets[nw.Lima]))
		add("-device", "virtio-net-pci,netdev="+id+",mac="+nw.MACAddress)
	}
	add("-device", "virtio-rng-pci")

	displayArgs(p, y, arch)
	add("-parallel", "none")

	// logappend=on: QEMU appends to serial.log, so the host agent can rotate it (copy to serial.log.1,
	// truncate) and a guest printing forever cannot fill the disk; the plan empties it instead.
	add("-chardev", "socket,id=char-serial,path="+p.Sockets.Serial+",server=on,wait=off,logfile="+p.SerialLog+",logappend=on")
	p.Files = append(p.Files, File{Path: p.SerialLog})
	add("-serial", "chardev:char-serial")
	add("-device", "virtio-serial-pci,id=vser0")
	add("-chardev", "socket,id=char-ga,path="+p.Sockets.GuestAgent+",server=on,wait=off")
	add("-device", "virtserialport,bus=vser0.0,chardev=char-ga,name="+GuestAgentPort)
	add("-chardev", "socket,id=char-gat,path="+p.Sockets.GuestAgentTunnel+",server=on,wait=off")
	add("-device", "virtserialport,bus=vser0.0,chardev=char-gat,name="+GuestAgentTunnelPort)
	if host.TunnelRing {
		// The tunnel's host-to-guest bytes go through this memory (pkg/shmring): QEMU maps the
		// host agent's memfd, which it inherits as fd 3, and shows it to the guest as BAR 2.
		add("-object", fmt.Sprintf("memory-backend-file,id=gat-ring,mem-path=/proc/self/fd/%d,size=%d,share=on", tunnelRingFD, shmring.Size))
		// master=on: the region is saved with the guest's RAM, so snapshots and savevm stay allowed
		// (off, the default, blocks migration).
		add("-device", "ivshmem-plain,id=gat-ring0,memdev=gat-ring,master=on")
	}

	if err := mountArgs(p, y, host, memMiB); err != nil {
		return nil, err
	}

	add("-chardev", "socket,id=char-qmp,path="+p.Sockets.QMP+",server=on,wait=off")
	add("-qmp", "chardev:char-qmp")
	add("-pidfile", p.PIDFile)
	return p, nil
}

func machineArgs(p *Plan, arch limayaml.Arch, accel string) {
	add := func(args ...string) { p.Args = append(p.Args, args...) }
	switch arch {
	case limayaml.X8664:
		if accel == AccelTCG {
			add("-machine", "q35,vmport=off")
		} else {
			add("-machine", "q35")
		}
		// No S3/S4: a suspended guest would look hung to the host agent.
		add("-global", "ICH9-LPC.disable_s3=1", "-global", "ICH9-LPC.disable_s4=1")
	case limayaml.AARCH64:
		add("-machine", "virt")
	}
	if accel == AccelTCG {
		add("-accel", "tcg,thread=multi,tb-size=512")
	} else {
		add("-accel", accel)
	}
}

// cpuType honours vmOpts.qemu.cpuType (or the deprecated cpuType), except that "host" only exists with
// a hardware accelerator: under tcg it becomes "max". Unset, it is "host" with hardware acceleration
// and "max" under tcg.
func cpuType(p *Plan, y *limayaml.LimaYAML, arch limayaml.Arch, accel string) string {
	t := y.VMOpts.QEMU.CPUType[arch]
	if t == "" {
		t = y.CPUType[arch]
	}
	if t == "" {
		if accel == AccelTCG {
			return "max"
		}
		return "host"
	}
	if accel == AccelTCG && (t == "host" || len(t) > 5 && t[:5] == "host,") {
		p.Notes = append(p.Notes, fmt.Sprintf("cpuType %q needs hardware acceleration; using \"max\" under tcg", t))
		return "max"
	}
	return t
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}
