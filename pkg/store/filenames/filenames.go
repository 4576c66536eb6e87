// Package filenames names the files in $LIMA_HOME and in an instance directory, as Lima names them,
// so tools and scripts written for Lima find them where they expect.
package filenames

// Directories directly under $LIMA_HOME.
const (
	ConfigDir    = "_config"
	DisksDir     = "_disks"
	TemplatesDir = "_templates"
	NetworksDir  = "_networks"
	CacheDir     = "_cache" // reserved
)

// Files under $LIMA_HOME/_config.
const (
	UserPrivateKey = "user"
	UserPublicKey  = "user.pub"
	NetworksConfig = "networks.yaml"
	Default        = "default.yaml"
	Override       = "override.yaml"
	Base           = "base.yaml"
)

// Files in an instance directory.
const (
	LimaYAML             = "lima.yaml"
	LimaVersion          = "lima-version"
	Protected            = "protected"
	RejectedYAML         = "lima.REJECTED.yaml"
	CloudConfig          = "cloud-config.yaml"
	CIDataISO            = "cidata.iso"
	CIDataISODir         = "cidata"
	Image                = "image"
	Disk                 = "disk"
	ISO                  = "iso"
	BaseDisk             = "basedisk" // legacy
	DiffDisk             = "diffdisk" // legacy
	Kernel               = "kernel"
	KernelCmdline        = "kernel.cmdline"
	Initrd               = "initrd"
	QemuEfiCodeFD        = "qemu-efi-code.fd"
	QMPSock              = "qmp.sock"
	SerialLog            = "serial.log"
	SerialSock           = "serial.sock"
	SerialPCILog         = "serialp.log"
	SerialPCISock        = "serialp.sock"
	SerialVirtLog        = "serialv.log"
	SerialVirtSock       = "serialv.sock"
	SSHSock              = "ssh.sock"
	SSHMuxSock           = "ssh.mux.sock" // the host agent's shared SSH connection (pkg/hostagent/sshmux.go)
	SSHConfig            = "ssh.config"
	SSHKnownHosts        = "ssh_known_hosts"
	HostAgentPID         = "ha.pid"
	HostAgentSock        = "ha.sock"
	HostAgentStdout      = "ha.stdout.log"
	HostAgentStderr      = "ha.stderr.log"
	GuestAgentSock       = "ga.sock"
	VZIdentifier         = "vz-identifier"
	VZEfi                = "vz-efi"
	SocketDir            = "sock"
	VNCDisplayFile       = "vncdisplay"
	VNCPasswordFile      = "vncpassword"
	AnsibleInventoryYAML = "ansible-inventory.yaml"
	SwtpmDir             = "swtpm"
	InstanceLock         = "instance.lock"
)

// PIDFile returns the pid file name of a driver process, e.g. "qemu.pid".
func PIDFile(vmType string) string { return vmType + ".pid" }

// TmpFileSuffixes are removed by `limactl stop -f` together with pid files.
var TmpFileSuffixes = []string{".pid", ".sock", ".tmp"}

// LongestSock is the longest socket name an instance directory holds, used to check that the
// instance directory path leaves room for it under the Unix socket path limit.
const LongestSock = SSHSock + ".1234567890123456"
