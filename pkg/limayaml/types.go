package limayaml

// The schema of an instance's lima.yaml. Every optional scalar is a pointer so that "unset" can be told
// apart from a zero value: FillDefault layers _config/default.yaml, lima.yaml and _config/override.yaml
// and only a nil field is filled from a lower layer.

// VMType names a driver.
type VMType = string

// OS names a guest operating system.
type OS = string

// Arch names a CPU architecture in Lima's spelling.
type Arch = string

// MountType names a way of sharing a host directory with the guest.
type MountType = string

// ProvisionMode names when and how a provision entry runs.
type ProvisionMode = string

// Proto names a port-forward protocol.
type Proto = string

const (
	QEMU VMType = "qemu"
	VZ   VMType = "vz"
	WSL2 VMType = "wsl2"

	LINUX   OS = "Linux"
	DARWIN  OS = "Darwin"
	FREEBSD OS = "FreeBSD"
	WINDOWS OS = "Windows"

	X8664   Arch = "x86_64"
	AARCH64 Arch = "aarch64"
	ARMV7L  Arch = "armv7l"
	PPC64LE Arch = "ppc64le"
	RISCV64 Arch = "riscv64"
	S390X   Arch = "s390x"

	REVSSHFS MountType = "reverse-sshfs"
	NINEP    MountType = "9p"
	VIRTIOFS MountType = "virtiofs"
	WSLMount MountType = "wsl2"

	ProvisionModeSystem     ProvisionMode = "system"
	ProvisionModeUser       ProvisionMode = "user"
	ProvisionModeBoot       ProvisionMode = "boot"
	ProvisionModeDependency ProvisionMode = "dependency"
	ProvisionModeAnsible    ProvisionMode = "ansible"
	ProvisionModeData       ProvisionMode = "data"
	ProvisionModeYQ         ProvisionMode = "yq"

	ProbeModeReadiness = "readiness"

	ProtoTCP Proto = "tcp"
	ProtoUDP Proto = "udp"
	ProtoAny Proto = "any"
)

// VMTypes, OSTypes, ArchTypes and MountTypes list the accepted values, in documentation order.
var (
	VMTypes    = []VMType{QEMU, VZ, WSL2}
	OSTypes    = []OS{LINUX, DARWIN, FREEBSD, WINDOWS}
	ArchTypes  = []Arch{X8664, AARCH64, ARMV7L, PPC64LE, RISCV64, S390X}
	MountTypes = []MountType{REVSSHFS, NINEP, VIRTIOFS, WSLMount}
)

// LimaYAML is one lima.yaml (or template, or _config/default.yaml / override.yaml).
type LimaYAML struct {
	Base                  BaseTemplates     `yaml:"base,omitempty" json:"base,omitempty"`
	MinimumLimaVersion    *string           `yaml:"minimumLimaVersion,omitempty" json:"minimumLimaVersion,omitempty"`
	VMType                *VMType           `yaml:"vmType,omitempty" json:"vmType,omitempty"`
	VMOpts                VMOpts            `yaml:"vmOpts,omitempty" json:"vmOpts,omitempty"`
	OS                    *OS               `yaml:"os,omitempty" json:"os,omitempty"`
	OSOpts                OSOpts            `yaml:"osOpts,omitempty" json:"osOpts,omitempty"`
	Arch                  *Arch             `yaml:"arch,omitempty" json:"arch,omitempty"`
	Images                []Image           `yaml:"images,omitempty" json:"images,omitempty"`
	CPUType               CPUType           `yaml:"cpuType,omitempty" json:"cpuType,omitempty"` // deprecated: vmOpts.qemu.cpuType
	CPUs                  *int              `yaml:"cpus,omitempty" json:"cpus,omitempty"`
	Memory                *string           `yaml:"memory,omitempty" json:"memory,omitempty"`
	Disk                  *string           `yaml:"disk,omitempty" json:"disk,omitempty"`
	AdditionalDisks       []Disk            `yaml:"additionalDisks,omitempty" json:"additionalDisks,omitempty"`
	Mounts                []Mount           `yaml:"mounts,omitempty" json:"mounts,omitempty"`
	MountTypesUnsupported []string          `yaml:"mountTypesUnsupported,omitempty" json:"mountTypesUnsupported,omitempty"`
	MountType             *MountType        `yaml:"mountType,omitempty" json:"mountType,omitempty"`
	MountInotify          *bool             `yaml:"mountInotify,omitempty" json:"mountInotify,omitempty"`
	SSH                   SSH               `yaml:"ssh,omitempty" json:"ssh,omitempty"`
	Firmware              Firmware          `yaml:"firmware,omitempty" json:"firmware,omitempty"`
	Audio                 Audio             `yaml:"audio,omitempty" json:"audio,omitempty"`
	Video                 Video             `yaml:"video,omitempty" json:"video,omitempty"`
	Provision             []Provision       `yaml:"provision,omitempty" json:"provision,omitempty"`
	UpgradePackages       *bool             `yaml:"upgradePackages,omitempty" json:"upgradePackages,omitempty"`
	Containerd            Containerd        `yaml:"containerd,omitempty" json:"containerd,omitempty"`
	GuestInstallPrefix    *string           `yaml:"guestInstallPrefix,omitempty" json:"guestInstallPrefix,omitempty"`
	Probes                []Probe           `yaml:"probes,omitempty" json:"probes,omitempty"`
	PortForwards          []PortForward     `yaml:"portForwards,omitempty" json:"portForwards,omitempty"`
	CopyToHost            []CopyToHost      `yaml:"copyToHost,omitempty" json:"copyToHost,omitempty"`
	Message               string            `yaml:"message,omitempty" json:"message,omitempty"`
	Networks              []Network         `yaml:"networks,omitempty" json:"networks,omitempty"`
	Env                   map[string]string `yaml:"env,omitempty" json:"env,omitempty"`
	Param                 map[string]string `yaml:"param,omitempty" json:"param,omitempty"`
	DNS                   []string          `yaml:"dns,omitempty" json:"dns,omitempty"`
	HostResolver          HostResolver      `yaml:"hostResolver,omitempty" json:"hostResolver,omitempty"`
	PropagateProxyEnv     *bool             `yaml:"propagateProxyEnv,omitempty" json:"propagateProxyEnv,omitempty"`
	CACertificates        CACertificates    `yaml:"caCerts,omitempty" json:"caCerts,omitempty"`
	Rosetta               Rosetta           `yaml:"rosetta,omitempty" json:"rosetta,omitempty"` // deprecated: vmOpts.vz.rosetta
	Plain                 *bool             `yaml:"plain,omitempty" json:"plain,omitempty"`
	TimeZone              *string           `yaml:"timezone,omitempty" json:"timezone,omitempty"`
	NestedVirtualization  *bool             `yaml:"nestedVirtualization,omitempty" json:"nestedVirtualization,omitempty"`
	User                  User              `yaml:"user,omitempty" json:"user,omitempty"`
	TPM                   *bool             `yaml:"tpm,omitempty" json:"tpm,omitempty"`
}

// BaseTemplates is the `base:` field: one locator or a list of them, each a string or {url, digest}.
type BaseTemplates []LocatorWithDigest

// LocatorWithDigest is a URL or path with an optional digest; in YAML it may be a bare string.
type LocatorWithDigest struct {
	URL    string  `yaml:"url" json:"url"`
	Digest *string `yaml:"digest,omitempty" json:"digest,omitempty"`
}

// VMOpts holds per-driver options.
type VMOpts struct {
	QEMU QEMUOpts `yaml:"qemu,omitempty" json:"qemu,omitempty"`
	VZ   VZOpts   `yaml:"vz,omitempty" json:"vz,omitempty"`
}

// QEMUOpts are the options of the qemu driver.
type QEMUOpts struct {
	MinimumVersion *string `yaml:"minimumVersion,omitempty" json:"minimumVersion,omitempty"`
	CPUType        CPUType `yaml:"cpuType,omitempty" json:"cpuType,omitempty"`
}

// VZOpts are the options of the vz driver.
type VZOpts struct {
	DiskImageFormat *string `yaml:"diskImageFormat,omitempty" json:"diskImageFormat,omitempty"`
	Rosetta         Rosetta `yaml:"rosetta,omitempty" json:"rosetta,omitempty"`
}

// OSOpts holds per-guest-OS options.
type OSOpts struct {
	Windows WindowsOpts `yaml:"Windows,omitempty" json:"Windows,omitempty"`
}

// WindowsOpts are the options of Windows guests.
type WindowsOpts struct {
	VirtioWin []File `yaml:"virtioWin,omitempty" json:"virtioWin,omitempty"`
}

// CPUType maps an arch to a QEMU -cpu value.
type CPUType = map[Arch]string

// Rosetta runs x86_64 binaries in arm64 vz guests.
type Rosetta struct {
	Enabled *bool `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	BinFmt  *bool `yaml:"binfmt,omitempty" json:"binfmt,omitempty"`
}

// File is a downloadable file with an optional digest.
type File struct {
	Location string `yaml:"location" json:"location"`
	Arch     Arch   `yaml:"arch,omitempty" json:"arch,omitempty"`
	Digest   string `yaml:"digest,omitempty" json:"digest,omitempty"`
}

// FileWithVMType is a firmware file, limited to one driver.
type FileWithVMType struct {
	File   `yaml:",inline"`
	VMType VMType `yaml:"vmType,omitempty" json:"vmType,omitempty"`
}

// Kernel is a kernel file for direct kernel boot.
type Kernel struct {
	File    `yaml:",inline"`
	Cmdline string `yaml:"cmdline,omitempty" json:"cmdline,omitempty"`
}

// Image is a guest disk image, optionally with a kernel and an initrd.
type Image struct {
	File        `yaml:",inline"`
	Variant     string  `yaml:"variant,omitempty" json:"variant,omitempty"`
	ArchVariant string  `yaml:"archVariant,omitempty" json:"archVariant,omitempty"`
	Kernel      *Kernel `yaml:"kernel,omitempty" json:"kernel,omitempty"`
	Initrd      *File   `yaml:"initrd,omitempty" json:"initrd,omitempty"`
}

// Disk is an entry of additionalDisks: a bare name or an object.
type Disk struct {
	Name   string   `yaml:"name" json:"name"`
	Format *bool    `yaml:"format,omitempty" json:"format,omitempty"`
	FSType *string  `yaml:"fsType,omitempty" json:"fsType,omitempty"`
	FSArgs []string `yaml:"fsArgs,omitempty" json:"fsArgs,omitempty"`
}

// Mount shares a host directory with the guest.
type Mount struct {
	Location   string   `yaml:"location" json:"location"`
	MountPoint *string  `yaml:"mountPoint,omitempty" json:"mountPoint,omitempty"`
	Writable   *bool    `yaml:"writable,omitempty" json:"writable,omitempty"`
	SSHFS      SSHFS    `yaml:"sshfs,omitempty" json:"sshfs,omitempty"`
	NineP      NineP    `yaml:"9p,omitempty" json:"9p,omitempty"`
	Virtiofs   Virtiofs `yaml:"virtiofs,omitempty" json:"virtiofs,omitempty"`
}

// SFTPDriver names the SFTP server used by reverse-sshfs.
type SFTPDriver = string

// SSHFS holds reverse-sshfs options.
type SSHFS struct {
	Cache          *bool       `yaml:"cache,omitempty" json:"cache,omitempty"`
	FollowSymlinks *bool       `yaml:"followSymlinks,omitempty" json:"followSymlinks,omitempty"`
	SFTPDriver     *SFTPDriver `yaml:"sftpDriver,omitempty" json:"sftpDriver,omitempty"`
}

// NineP holds 9p options.
type NineP struct {
	SecurityModel   *string `yaml:"securityModel,omitempty" json:"securityModel,omitempty"`
	ProtocolVersion *string `yaml:"protocolVersion,omitempty" json:"protocolVersion,omitempty"`
	Msize           *string `yaml:"msize,omitempty" json:"msize,omitempty"`
	Cache           *string `yaml:"cache,omitempty" json:"cache,omitempty"`
}

// Virtiofs holds virtiofs options.
type Virtiofs struct {
	QueueSize *int `yaml:"queueSize,omitempty" json:"queueSize,omitempty"`
}

// SSH configures how the host reaches the guest.
type SSH struct {
	LocalPort         *int  `yaml:"localPort,omitempty" json:"localPort,omitempty"`
	LoadDotSSHPubKeys *bool `yaml:"loadDotSSHPubKeys,omitempty" json:"loadDotSSHPubKeys,omitempty"`
	ForwardAgent      *bool `yaml:"forwardAgent,omitempty" json:"forwardAgent,omitempty"`
	ForwardX11        *bool `yaml:"forwardX11,omitempty" json:"forwardX11,omitempty"`
	ForwardX11Trusted *bool `yaml:"forwardX11Trusted,omitempty" json:"forwardX11Trusted,omitempty"`
	OverVsock         *bool `yaml:"overVsock,omitempty" json:"overVsock,omitempty"`
}

// Firmware selects BIOS or UEFI and the UEFI code files.
type Firmware struct {
	LegacyBIOS *bool            `yaml:"legacyBIOS,omitempty" json:"legacyBIOS,omitempty"`
	Images     []FileWithVMType `yaml:"images,omitempty" json:"images,omitempty"`
}

// Audio configures a sound device.
type Audio struct {
	Device    *string `yaml:"device,omitempty" json:"device,omitempty"`
	Interface *string `yaml:"interface,omitempty" json:"interface,omitempty"`
}

// VNCOptions configures QEMU's VNC display.
type VNCOptions struct {
	Display *string `yaml:"display,omitempty" json:"display,omitempty"`
}

// Video configures the display.
type Video struct {
	Display *string    `yaml:"display,omitempty" json:"display,omitempty"`
	VNC     VNCOptions `yaml:"vnc,omitempty" json:"vnc,omitempty"`
}

// ProvisionData are the fields of data and yq provision entries.
type ProvisionData struct {
	Content     *string `yaml:"content,omitempty" json:"content,omitempty"`
	Overwrite   *bool   `yaml:"overwrite,omitempty" json:"overwrite,omitempty"`
	Owner       *string `yaml:"owner,omitempty" json:"owner,omitempty"`
	Path        *string `yaml:"path,omitempty" json:"path,omitempty"`
	Permissions *string `yaml:"permissions,omitempty" json:"permissions,omitempty"`
}

// Provision is one provisioning step.
type Provision struct {
	Mode                            ProvisionMode      `yaml:"mode,omitempty" json:"mode,omitempty"`
	SkipDefaultDependencyResolution *bool              `yaml:"skipDefaultDependencyResolution,omitempty" json:"skipDefaultDependencyResolution,omitempty"`
	Script                          *string            `yaml:"script,omitempty" json:"script,omitempty"`
	File                            *LocatorWithDigest `yaml:"file,omitempty" json:"file,omitempty"`
	Playbook                        string             `yaml:"playbook,omitempty" json:"playbook,omitempty"` // deprecated
	Expression                      *string            `yaml:"expression,omitempty" json:"expression,omitempty"`
	Format                          *string            `yaml:"format,omitempty" json:"format,omitempty"`
	ProvisionData                   `yaml:",inline"`
}

// Containerd configures containerd and nerdctl in the guest.
type Containerd struct {
	System   *bool  `yaml:"system,omitempty" json:"system,omitempty"`
	User     *bool  `yaml:"user,omitempty" json:"user,omitempty"`
	Archives []File `yaml:"archives,omitempty" json:"archives,omitempty"`
}

// Probe is a readiness check that holds READY until it passes.
type Probe struct {
	Mode        string             `yaml:"mode,omitempty" json:"mode,omitempty"`
	Description string             `yaml:"description,omitempty" json:"description,omitempty"`
	Script      *string            `yaml:"script,omitempty" json:"script,omitempty"`
	File        *LocatorWithDigest `yaml:"file,omitempty" json:"file,omitempty"`
	Hint        string             `yaml:"hint,omitempty" json:"hint,omitempty"`
}

// PortForward is one port-forwarding rule. The first matching rule wins.
type PortForward struct {
	GuestIPMustBeZero bool      `yaml:"guestIPMustBeZero,omitempty" json:"guestIPMustBeZero,omitempty"`
	GuestIP           string    `yaml:"guestIP,omitempty" json:"guestIP,omitempty"`
	GuestPort         int       `yaml:"guestPort,omitempty" json:"guestPort,omitempty"`
	GuestPortRange    PortRange `yaml:"guestPortRange,omitempty,flow" json:"guestPortRange,omitempty"`
	GuestSocket       string    `yaml:"guestSocket,omitempty" json:"guestSocket,omitempty"`
	HostIP            string    `yaml:"hostIP,omitempty" json:"hostIP,omitempty"`
	HostPort          int       `yaml:"hostPort,omitempty" json:"hostPort,omitempty"`
	HostPortRange     PortRange `yaml:"hostPortRange,omitempty,flow" json:"hostPortRange,omitempty"`
	HostSocket        string    `yaml:"hostSocket,omitempty" json:"hostSocket,omitempty"`
	Proto             Proto     `yaml:"proto,omitempty" json:"proto,omitempty"`
	Reverse           bool      `yaml:"reverse,omitempty" json:"reverse,omitempty"`
	Ignore            bool      `yaml:"ignore,omitempty" json:"ignore,omitempty"`
	Static            bool      `yaml:"static,omitempty" json:"static,omitempty"`
}

// PortRange is an inclusive [first, last] port range; [0, 0] means unset.
type PortRange [2]int

// IsZero lets `omitempty` leave an unset range out of the YAML.
func (r PortRange) IsZero() bool { return r == PortRange{} }

// CopyToHost copies a guest file to the host once the guest is ready.
type CopyToHost struct {
	GuestFile     string `yaml:"guest,omitempty" json:"guest,omitempty"`
	HostFile      string `yaml:"host,omitempty" json:"host,omitempty"`
	SkipIfMissing bool   `yaml:"skipIfMissing,omitempty" json:"skipIfMissing,omitempty"`
	DeleteOnStop  bool   `yaml:"deleteOnStop,omitempty" json:"deleteOnStop,omitempty"`
}

// Network is an additional guest NIC.
type Network struct {
	Lima       string  `yaml:"lima,omitempty" json:"lima,omitempty"`
	Socket     string  `yaml:"socket,omitempty" json:"socket,omitempty"`
	VZNAT      *bool   `yaml:"vzNAT,omitempty" json:"vzNAT,omitempty"`
	MACAddress string  `yaml:"macAddress,omitempty" json:"macAddress,omitempty"`
	Interface  string  `yaml:"interface,omitempty" json:"interface,omitempty"`
	Metric     *uint32 `yaml:"metric,omitempty" json:"metric,omitempty"`
}

// HostResolver is the DNS server the host agent runs for the guest.
type HostResolver struct {
	Enabled *bool             `yaml:"enabled,omitempty" json:"enabled,omitempty"`
	IPv6    *bool             `yaml:"ipv6,omitempty" json:"ipv6,omitempty"`
	Hosts   map[string]string `yaml:"hosts,omitempty" json:"hosts,omitempty"`
}

// CACertificates are extra CA certificates for the guest.
type CACertificates struct {
	RemoveDefaults *bool    `yaml:"removeDefaults,omitempty" json:"removeDefaults,omitempty"`
	Files          []string `yaml:"files,omitempty" json:"files,omitempty"`
	Certs          []string `yaml:"certs,omitempty" json:"certs,omitempty"`
}

// User is the guest user.
type User struct {
	Name             *string `yaml:"name,omitempty" json:"name,omitempty"`
	Comment          *string `yaml:"comment,omitempty" json:"comment,omitempty"`
	Home             *string `yaml:"home,omitempty" json:"home,omitempty"`
	Shell            *string `yaml:"shell,omitempty" json:"shell,omitempty"`
	UID              *uint32 `yaml:"uid,omitempty" json:"uid,omitempty"`
	PasswordlessSudo *bool   `yaml:"passwordlessSudo,omitempty" json:"passwordlessSudo,omitempty"`
}
