// Package driver defines the contract between limactl and the hypervisors it runs guests on.
//
// A Driver owns one instance directory's hypervisor side: the instance disk, the hypervisor process or
// framework object, its control channels, and the snapshots. It does not own the host agent, cloud-init
// data (cidata), SSH, mounts done over SSH, or port forwarding; those are layered on top by the host agent,
// which calls the driver through this interface only.
//
// Every method's contract is written above it. Implementations must follow it to the letter: the
// conformance suite in pkg/driver/drivertest checks it, and callers rely on it without reading an
// implementation. Errors carry a kind (ErrNotFound, ErrAlreadyRunning, ...) wrapped with %w; callers
// test kinds with errors.Is and never match error strings.
//
// Implementations live in their own packages (pkg/driver/qemu, ...) and never import the registry; a
// small build-tagged register.go in each wires them into pkg/driver/registry from init().
package driver

import (
	"context"
	"net"
)

// Driver is one instance's hypervisor. A Driver value is cheap: it is constructed from Config without
// side effects, and several values for the same instance directory (the host agent's, `limactl list`'s)
// must agree on the instance's state. So a driver keeps every piece of state that outlives a method call
// in the instance directory (pid files, sockets, disk), never only in memory.
//
// Methods may be called concurrently on different Driver values for the same instance; the caller (the
// host agent, under the instance lock) serialises the lifecycle methods Create, CreateDisk, Start, Stop
// and Delete. Every method honours ctx: when ctx is done it gives up and returns ctx.Err() wrapped, unless
// the method's contract says otherwise.
type Driver interface {
	// Info describes the driver and what it supports. It is pure: no I/O, the same answer every time
	// for the same Config. Callers use the features to decide what to layer on top (for instance, no
	// cidata ISO when NoCloudInit is set, an SSH-forwarded guest-agent socket when the driver has
	// neither a VirtioPort nor a VsockPort).
	Info() Info

	// Validate checks the parts of the configuration only this driver can judge: the guest arch and
	// the host, mount types (9p and virtiofs under qemu are not available on every host OS), firmware,
	// video and network options, and whether the hypervisor binary or framework is present at all.
	// It may inspect the host (look up binaries, read versions) but changes nothing.
	//
	// A configuration this driver cannot run returns an error wrapping ErrInvalidConfig (the user can
	// fix lima.yaml) or ErrUnsupported (this host cannot do it whatever the YAML says), with a message
	// naming the field and what to set instead.
	Validate(ctx context.Context) error

	// Create prepares driver-specific state in the instance directory that must exist before the
	// disk: identifiers, firmware variable stores, and the like. It creates no disk and starts nothing.
	// It is idempotent: calling it again on a created instance changes nothing and returns nil. It may
	// assume the instance directory exists and lima.yaml in it is final.
	Create(ctx context.Context) error

	// CreateDisk makes the instance's boot disk (`disk` in the instance directory) from the base image
	// named by Config.BaseImage. The base image is never written: the disk is a copy-on-write overlay
	// (qcow2 backing file) or a copy, never the base itself. The disk is grown to the `disk:` size when
	// that is larger than the image; it is never shrunk (a smaller `disk:` is an ErrInvalidConfig error,
	// and a larger one just needs a CreateDisk after the size changed).
	//
	// It is idempotent: an existing disk holds the guest's data and is kept; only a pending grow is
	// applied. A missing base image returns an error wrapping ErrNotFound. A running instance returns
	// ErrAlreadyRunning (a disk in use is not resized).
	CreateDisk(ctx context.Context) error

	// Start launches the guest and returns once the hypervisor is up and its control channel answers
	// (for qemu: the process runs, its pid file and QMP socket exist). It does not wait for the guest
	// OS to boot; readiness is the host agent's job (through GuestAgentConn, SSH and the serial log).
	//
	// The returned channel receives exactly one value when the hypervisor ends, and is then closed:
	// nil when it ended because of Stop, Kill, or a guest power-off, and otherwise an error saying why
	// (exit status, last lines of the hypervisor's own log). The guest outlives ctx: cancelling ctx
	// aborts a launch in progress (and cleans it up), but once Start has returned only Stop or Kill end
	// the guest.
	//
	// Errors: ErrAlreadyRunning when the instance already runs (even if another Driver value or another
	// process started it); ErrNotFound when the disk (or another file Start needs, such as a kernel for
	// direct kernel boot) is missing, naming the file and the step that makes it.
	Start(ctx context.Context) (<-chan error, error)

	// Stop shuts the guest down gracefully (ACPI power button or the framework's equivalent) and waits
	// for the hypervisor to exit, for at most Config.StopTimeout (DefaultStopTimeout when zero) or until
	// ctx is done, then ends it by force. It returns when the hypervisor is gone, and cleans up pid
	// files and sockets it owned. If the graceful path is unavailable (no control channel) it forces at
	// once. Stopping an instance that is not running is a no-op that returns nil.
	Stop(ctx context.Context) error

	// Kill ends the hypervisor at once, without asking the guest (`limactl stop -f`). Like Stop, it
	// cleans up pid files and sockets, and is a no-op returning nil when nothing runs.
	Kill(ctx context.Context) error

	// Delete removes every file the driver made in the instance directory and anything it made
	// elsewhere (short socket directories, framework registrations). The caller removes the directory
	// itself afterwards. A running instance returns ErrAlreadyRunning. Deleting twice is a no-op.
	Delete(ctx context.Context) error

	// Status reports the hypervisor's state as seen from the instance directory, so it is right from any
	// Driver value and any process. It never changes anything, with one exception: stale pid files and
	// sockets left by a hypervisor that no longer runs may be removed (self-healing). An error means
	// the state could not be read (for instance a permission error), not that the guest is down.
	Status(ctx context.Context) (Status, error)

	// BootScripts returns extra scripts the driver needs the guest to run on every boot, keyed by their
	// path inside cidata (for instance "boot.Linux/05-rosetta.sh"). Pure; nil when there are none.
	BootScripts() map[string][]byte

	// SSHAddress returns the host, without port, where the guest's SSH server is reached: "127.0.0.1"
	// when the driver forwards a host port (Info().Features.StaticSSHPort false), or an address the
	// driver learns at run time when DynamicSSHAddress is set (which may need the guest running, else
	// ErrNotRunning).
	SSHAddress(ctx context.Context) (string, error)

	// GuestAgentConn connects to the guest agent over the driver's own channel (qemu: the virtio-serial
	// port exposed on the host as ga.sock; vz, wsl2: vsock). The connection is a raw byte stream; the
	// caller speaks the guest-agent protocol over it and closes it. ErrNotRunning when the guest is
	// not running; ErrUnsupported when the driver has no such channel (the caller then forwards the
	// guest's socket over SSH).
	GuestAgentConn(ctx context.Context) (net.Conn, error)

	// GuestAgentTunnelConn connects to the guest agent's tunnel over the driver's own channel (qemu:
	// a second virtio-serial port, exposed on the host as gat.sock): a raw byte stream that carries
	// forwarded TCP connections without the guest's sshd (pkg/guestagent/api, tunnel.go). The
	// channel gives no sign of the guest agent's presence: the caller runs the tunnel's handshake on
	// it, and closes it. ErrNotRunning when the guest is not running; ErrUnsupported when the driver
	// (or the running hypervisor, started by an older limactl) has no such channel: the caller then
	// forwards every port over SSH.
	GuestAgentTunnelConn(ctx context.Context) (net.Conn, error)

	// CreateSnapshot saves the instance's state under tag: disk only when stopped, disk and memory when
	// running. ErrAlreadyExists if tag is taken; ErrUnsupported when the driver (or this configuration,
	// e.g. a 9p share mounted in the guest) cannot snapshot, with the reason.
	CreateSnapshot(ctx context.Context, tag string) error

	// ApplySnapshot restores the state saved under tag. ErrNotFound if there is no such snapshot.
	ApplySnapshot(ctx context.Context, tag string) error

	// DeleteSnapshot removes the snapshot tag. ErrNotFound if there is no such snapshot.
	DeleteSnapshot(ctx context.Context, tag string) error

	// ListSnapshots lists the snapshots, oldest first; an empty list (not an error) when there are none.
	// Drivers without snapshots return ErrUnsupported from all four snapshot methods.
	ListSnapshots(ctx context.Context) ([]Snapshot, error)
}

// Display is implemented by drivers whose guest has a display the user can reach (Features.CanRunGUI).
// It is optional: callers discover it with a type assertion.
type Display interface {
	// DisplayConnection returns where to connect a viewer, e.g. "127.0.0.1:5900" for VNC.
	// ErrNotRunning when the guest is not running.
	DisplayConnection(ctx context.Context) (string, error)
	// ChangeDisplayPassword sets the display's password. ErrNotRunning when the guest is not running.
	ChangeDisplayPassword(ctx context.Context, password string) error
}
