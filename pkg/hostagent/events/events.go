// Package events defines the progress events a host agent writes to ha.stdout.log, one JSON object per
// line, in the shape Lima uses, and the reader that `limactl start` follows them with.
//
// Every event carries the whole current status, so a reader that starts late loses nothing but history.
// Fields Lima does not have (Progress, Accelerator) are additions that Lima-era readers ignore.
package events

import (
	"time"
)

// Event is one line of ha.stdout.log.
type Event struct {
	Time   time.Time `json:"time"`
	Status Status    `json:"status"`
}

// Status is the host agent's view of the instance at the time of the event.
type Status struct {
	Running  bool     `json:"running,omitempty"`
	Degraded bool     `json:"degraded,omitempty"`
	Exiting  bool     `json:"exiting,omitempty"`
	Errors   []string `json:"errors,omitempty"`

	SSHLocalPort int `json:"sshLocalPort,omitempty"`

	CloudInitProgress *CloudInitProgress `json:"cloudInitProgress,omitempty"`
	PortForward       *PortForwardEvent  `json:"portForward,omitempty"`
	Vsock             *VsockEvent        `json:"vsock,omitempty"`

	// Progress names the start-up step the host agent is waiting on. Our addition.
	Progress *Progress `json:"progress,omitempty"`
	// Accelerator is what the hypervisor runs the guest with ("kvm", "hvf", "tcg"), when the driver
	// says; a fallback to emulation changes it. Our addition.
	Accelerator string `json:"accelerator,omitempty"`
}

// CloudInitProgress carries one line of the guest's cloud-init output (limactl start --progress).
type CloudInitProgress struct {
	LogLine   string `json:"logLine,omitempty"`
	Completed bool   `json:"completed,omitempty"`
	Active    bool   `json:"active,omitempty"`
}

// PortForwardType says what happened to a forwarded port.
type PortForwardType string

const (
	PortForwardForwarding    PortForwardType = "forwarding"
	PortForwardNotForwarding PortForwardType = "not-forwarding"
	PortForwardStopping      PortForwardType = "stopping"
	PortForwardFailed        PortForwardType = "failed"
)

// PortForwardEvent reports a change of one forwarded port.
type PortForwardEvent struct {
	Type      PortForwardType `json:"type"`
	Protocol  string          `json:"protocol,omitempty"`
	GuestAddr string          `json:"guestAddr,omitempty"`
	HostAddr  string          `json:"hostAddr,omitempty"`
	Error     string          `json:"error,omitempty"`
}

// VsockEvent reports the state of the vsock channel (vz).
type VsockEvent struct {
	Type      string `json:"type"`
	HostAddr  string `json:"hostAddr,omitempty"`
	VsockPort int    `json:"vsockPort,omitempty"`
	Reason    string `json:"reason,omitempty"`
}

// Progress is the step the host agent is in and since when.
type Progress struct {
	// Step is a short stable identifier, e.g. "boot", "ssh", "user-session", "boot-scripts", "probe".
	Step string `json:"step"`
	// Description is what a person should read, e.g. "Waiting for the guest's SSH server".
	Description string    `json:"description,omitempty"`
	Since       time.Time `json:"since"`
	// Done is set on the event that completes the step.
	Done bool `json:"done,omitempty"`
}
