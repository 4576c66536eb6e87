package driver

import (
	"path/filepath"
	"time"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// DefaultStopTimeout bounds a graceful Stop when Config.StopTimeout is zero: the guest gets this long to
// power off after the ACPI power button before the hypervisor is killed. It matches Lima's qemu driver.
const DefaultStopTimeout = 3 * time.Minute

// Config is everything a driver is constructed from. The caller fills it; a driver does not read
// lima.yaml or environment variables itself (host facts such as binaries and accelerators it may probe).
type Config struct {
	// Name is the instance name, e.g. "default".
	Name string
	// InstanceDir is the absolute path of the instance directory ($LIMA_HOME/NAME). It exists.
	InstanceDir string
	// Config is the instance's lima.yaml, already FillDefault-ed: every field a driver reads is set.
	// Drivers must not modify it.
	Config *limayaml.LimaYAML
	// SSHLocalPort is the host port forwarded to the guest's port 22 (for drivers without
	// StaticSSHPort). Zero when the caller has not picked one yet (Validate, CreateDisk, Delete).
	SSHLocalPort int
	// BaseImage is the base image CreateDisk builds the disk from. Empty means InstanceDir/image
	// (filenames.Image), where the downloader puts it.
	BaseImage string
	// StopTimeout bounds the graceful part of Stop; zero means DefaultStopTimeout.
	StopTimeout time.Duration
}

// BaseImagePath returns BaseImage, or the default InstanceDir/image.
func (c Config) BaseImagePath() string {
	if c.BaseImage != "" {
		return c.BaseImage
	}
	return filepath.Join(c.InstanceDir, filenames.Image)
}

// StopTimeoutOrDefault returns StopTimeout, or DefaultStopTimeout when it is zero.
func (c Config) StopTimeoutOrDefault() time.Duration {
	if c.StopTimeout > 0 {
		return c.StopTimeout
	}
	return DefaultStopTimeout
}

// Info describes a driver; see Driver.Info.
type Info struct {
	// Name is the vmType this driver implements ("qemu", "vz", "wsl2").
	Name string
	// InstanceDir is Config.InstanceDir.
	InstanceDir string
	// VirtioPort is the name of the virtio-serial port the guest agent listens on
	// (/dev/virtio-ports/NAME in the guest), or "" when the driver has none.
	VirtioPort string
	// VsockPort is the vsock port the guest agent listens on, or 0 when the driver has no vsock.
	VsockPort int
	// Features are what the driver supports.
	Features Features
}

// Features are the capabilities a caller adapts to.
type Features struct {
	// StaticSSHPort: the guest's SSH is always reached on port 22 of SSHAddress, so the caller does not
	// pick a local port (wsl2).
	StaticSSHPort bool
	// DynamicSSHAddress: SSHAddress is only known once the guest runs (wsl2).
	DynamicSSHAddress bool
	// NoCloudInit: the guest does not read a cidata ISO; the caller provides the cidata directory
	// instead (wsl2).
	NoCloudInit bool
	// CanRunGUI: the driver can show the guest's display in a window (vz) or over VNC (qemu).
	CanRunGUI bool
	// SupportsSnapshots: the snapshot methods work (they may still fail for a given configuration).
	SupportsSnapshots bool
	// SupportedImageFormats lists the base image formats CreateDisk accepts ("qcow2", "raw", ...);
	// the downloader converts others.
	SupportedImageFormats []string
}

// Status is the hypervisor's state; see Driver.Status.
type Status string

const (
	// StatusStopped: no hypervisor runs for the instance.
	StatusStopped Status = "Stopped"
	// StatusRunning: the hypervisor runs (the guest OS may still be booting).
	StatusRunning Status = "Running"
	// StatusBroken: the instance is in a state the driver cannot use, e.g. its pid file names a live
	// process that is not its hypervisor. Stop, Kill or Delete may repair it.
	StatusBroken Status = "Broken"
)

// Snapshot is one saved state of an instance.
type Snapshot struct {
	// ID is the driver's own identifier (qemu: the numeric snapshot ID).
	ID string `json:"id"`
	// Tag is the name the user gave it.
	Tag string `json:"tag"`
	// VMStateSize is the size of the saved memory state, as the hypervisor prints it ("0 B" when the
	// snapshot holds the disk only).
	VMStateSize string `json:"vmStateSize,omitempty"`
	// Date is when it was taken, as the hypervisor prints it.
	Date string `json:"date,omitempty"`
	// VMClock is the guest's running time when it was taken, as the hypervisor prints it.
	VMClock string `json:"vmClock,omitempty"`
}
