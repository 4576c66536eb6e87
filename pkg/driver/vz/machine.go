package vz

import (
	"net"
)

// MachineState is a virtual machine's state, as Virtualization.framework reports it.
type MachineState string

// Machine states. The apply layer translates vz.VirtualMachineState to these.
const (
	StateStopped   MachineState = "Stopped"
	StateRunning   MachineState = "Running"
	StatePaused    MachineState = "Paused"
	StateError     MachineState = "Error"
	StateStarting  MachineState = "Starting"
	StatePausing   MachineState = "Pausing"
	StateResuming  MachineState = "Resuming"
	StateStopping  MachineState = "Stopping"
	StateSaving    MachineState = "Saving"
	StateRestoring MachineState = "Restoring"
)

// Machine is one virtual machine built from a Spec. On macOS it wraps *vz.VirtualMachine one to one;
// tests use a fake. It is the seam that lets the lifecycle run on Linux.
type Machine interface {
	// Start boots the machine and returns when Virtualization.framework has accepted the start.
	Start() error
	// RequestStop asks the guest to power off (the framework's power button). false means the
	// request could not be delivered.
	RequestStop() (bool, error)
	// Stop ends the machine at once, without asking the guest.
	Stop() error
	// State is the current state.
	State() MachineState
	// StateChanged delivers every state change. It has one reader: the driver.
	StateChanged() <-chan MachineState
	// ConnectVsock connects to a vsock port of the guest.
	ConnectVsock(port uint32) (net.Conn, error)
}

// Hypervisor is what the driver needs from Virtualization.framework besides a running Machine: facts
// about the host and the files Create makes. apply_darwin.go implements it; elsewhere every method
// reports driver.ErrUnsupported.
type Hypervisor interface {
	// Probe reports what the framework says about this Mac. MacOSVersion and Arch are filled by the
	// caller, not by Probe.
	Probe() HostFacts
	// NewMachineIdentifier returns the data of a fresh machine identifier, to be saved in vz-identifier.
	NewMachineIdentifier() ([]byte, error)
	// CreateEFIVariableStore creates the EFI variable store file at path (which does not exist).
	CreateEFIVariableStore(path string) error
	// NewMachine builds and validates the configuration in spec and returns the machine, not started.
	NewMachine(spec *Spec) (Machine, error)
}
