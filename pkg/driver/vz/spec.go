// Package vz is the driver for Apple's Virtualization.framework (vmType: vz), through
// github.com/Code-Hex/vz/v3.
//
// The package is split so that nearly all of it is built and tested on every OS:
//
//   - Plan (plan.go) turns a driver.Config and HostFacts into a Spec: every choice about the virtual
//     machine (boot loader, devices, shares, Rosetta, nested virtualization) is made there, purely, and
//     golden-tested as JSON in testdata/.
//   - The lifecycle (lifecycle.go, disk.go, create.go) runs against the Hypervisor and Machine
//     interfaces (machine.go): start, bounded stop, kill, status from vz.pid, disk conversion. Tests run it
//     with a fake machine through the conformance suite in pkg/driver/drivertest.
//   - apply_darwin.go (darwin && cgo) is the only code that calls Virtualization.framework. It maps a
//     Spec onto vz one to one and decides nothing. Linux CI cannot compile it (no macOS SDK), so
//     hack/vz-typecheck type-checks it against the real vz API instead; apply_other.go stands in
//     elsewhere and reports ErrUnsupported.
//
// A vz virtual machine lives inside the process that started it (the host agent), not in a child
// process. That process writes its own pid to vz.pid; other processes (`limactl list`, `limactl stop`)
// see the VM through that file and reach it by signalling the host agent.
package vz

// Boot loader kinds.
const (
	// BootEFI boots the disk through Apple's UEFI firmware, with a variable store file (vz-efi).
	BootEFI = "efi"
	// BootLinux loads a kernel (and initrd) directly, for images[] entries with a kernel.
	BootLinux = "linux"
)

// Disk roles, for humans reading a plan.
const (
	DiskRoleBoot       = "boot"
	DiskRoleCIData     = "cidata"
	DiskRoleAdditional = "additional"
)

// Disk caching and synchronization modes, as Virtualization.framework names them.
const (
	CachingAutomatic = "automatic"
	CachingCached    = "cached"
	CachingUncached  = "uncached"
	SyncFull         = "full"
	SyncFsync        = "fsync"
	SyncNone         = "none"
)

// NetworkNAT is a NIC attached to Virtualization.framework's built-in NAT (vzNAT).
const NetworkNAT = "nat"

// Vsock ports. The guest agent listens on GuestAgentVsockPort inside the guest; the host connects to
// it (Lima uses the same port). SSHVsockPort is the guest's sshd over vsock, which the SSH forwarder
// connects to.
const (
	GuestAgentVsockPort uint32 = 2222
	SSHVsockPort        uint32 = 22
)

// RosettaTag is the virtiofs tag of the Rosetta share; the guest mounts it at RosettaMountPoint.
const (
	RosettaTag        = "vz-rosetta"
	RosettaMountPoint = "/mnt/lima-rosetta"
)

// Spec is one virtual machine as Virtualization.framework will run it. The apply layer maps each field
// onto one vz call; nothing in it is left for the apply layer to decide.
type Spec struct {
	// Name is the instance name (for logs).
	Name string `json:"name"`
	// CPUs is the vCPU count.
	CPUs uint `json:"cpus"`
	// MemoryBytes is the guest memory, a multiple of 1 MiB.
	MemoryBytes uint64 `json:"memoryBytes"`
	// Boot is the boot loader.
	Boot BootLoader `json:"boot"`
	// Platform is the generic platform configuration.
	Platform Platform `json:"platform"`
	// Disks are virtio block devices, in the order the guest sees them (vda, vdb, ...).
	Disks []Disk `json:"disks"`
	// Networks are virtio NICs.
	Networks []Network `json:"networks"`
	// Shares are virtiofs devices, one host directory each.
	Shares []Share `json:"shares,omitempty"`
	// Rosetta, when set, adds a virtiofs device sharing Apple's Rosetta for Linux (arm64 hosts only).
	Rosetta *Rosetta `json:"rosetta,omitempty"`
	// Console is the virtio console; the guest's /dev/hvc0.
	Console Console `json:"console"`
	// Vsock adds a virtio socket device (guest agent, SSH over vsock).
	Vsock bool `json:"vsock"`
	// MemoryBalloon adds a traditional virtio memory balloon.
	MemoryBalloon bool `json:"memoryBalloon"`
	// Entropy adds a virtio entropy device (the guest's hardware RNG).
	Entropy bool `json:"entropy"`
	// GUI shows the guest's display in a window. Always false for now: no graphics device is planned.
	GUI bool `json:"gui"`
	// SSHForward, when set, is the host address forwarded to the guest's sshd over vsock.
	SSHForward *SSHForward `json:"sshForward,omitempty"`
	// PIDFile is vz.pid: the pid of the process the VM lives in.
	PIDFile string `json:"pidFile"`
	// Requires are files that must exist before the VM starts, each with the step that makes it.
	Requires []Required `json:"requires"`
	// Notes explain choices a user may want to know about (logged at debug level).
	Notes []string `json:"notes,omitempty"`
}

// BootLoader is either EFI or a direct Linux boot.
type BootLoader struct {
	// Kind is BootEFI or BootLinux.
	Kind string `json:"kind"`
	// EFIVariableStore is the vz-efi file (BootEFI). Create makes it; Start opens it.
	EFIVariableStore string `json:"efiVariableStore,omitempty"`
	// Kernel, Initrd and CommandLine are for BootLinux. Initrd may be empty.
	Kernel      string `json:"kernel,omitempty"`
	Initrd      string `json:"initrd,omitempty"`
	CommandLine string `json:"commandLine,omitempty"`
}

// Platform is the generic platform: the machine identifier and nested virtualization.
type Platform struct {
	// MachineIdentifier is the vz-identifier file: the identifier's data, made once by Create.
	MachineIdentifier string `json:"machineIdentifier"`
	// NestedVirtualization lets the guest run its own VMs (macOS 15+, M3 or later).
	NestedVirtualization bool `json:"nestedVirtualization"`
}

// Disk is a disk image attached as a virtio block device.
type Disk struct {
	Role     string `json:"role"`
	Path     string `json:"path"`
	ReadOnly bool   `json:"readOnly"`
	// Caching and Sync are the disk image caching and synchronization modes.
	Caching string `json:"caching"`
	Sync    string `json:"sync"`
	// Identifier is the virtio-blk device identifier (the guest's serial), at most 20 ASCII bytes;
	// "" sets none. Additional disks get "lima-NAME".
	Identifier string `json:"identifier,omitempty"`
}

// Network is one virtio NIC.
type Network struct {
	// Attachment is NetworkNAT.
	Attachment string `json:"attachment"`
	// MAC is the NIC's address, "52:55:55:xx:xx:xx".
	MAC string `json:"mac"`
}

// Share is one host directory exported over virtiofs.
type Share struct {
	// Tag is what the guest mounts (driver.MountTag); 1 to 35 bytes.
	Tag string `json:"tag"`
	// HostPath is the host directory.
	HostPath string `json:"hostPath"`
	// ReadOnly is true unless the mount is writable.
	ReadOnly bool `json:"readOnly"`
	// MountPoint is where the guest mounts it (informational: the guest's mount entry uses it).
	MountPoint string `json:"mountPoint"`
}

// Rosetta is the Rosetta share.
type Rosetta struct {
	// Tag is the virtiofs tag (RosettaTag).
	Tag string `json:"tag"`
	// Install asks Virtualization.framework to install Rosetta first (it is supported but not installed).
	Install bool `json:"install"`
}

// Console is the virtio console attached to a log file.
type Console struct {
	// LogPath is serialv.log. It is truncated on each start.
	LogPath string `json:"logPath"`
}

// SSHForward forwards a host TCP address to a vsock port of the guest.
type SSHForward struct {
	HostAddress string `json:"hostAddress"`
	VsockPort   uint32 `json:"vsockPort"`
}

// Required is a file the VM needs, and the step that makes it.
type Required struct {
	Path   string `json:"path"`
	MadeBy string `json:"madeBy"`
}
