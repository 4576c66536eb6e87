// Package networks reads and writes $LIMA_HOME/_config/networks.yaml, the named networks that the
// `lima: NAME` entries of lima.yaml's networks refer to, in Lima's format: paths.socketVMNet,
// paths.varRun, paths.sudoers, group and networks.NAME.{mode,gateway,dhcpEnd,netmask,interface}.
// It also checks that the socket_vmnet paths are safe to run through sudo (macOS) and renders the
// sudoers rules `limactl sudoers` prints.
//
// The user-v2 network itself (a user-mode switch shared by instances) is run by the subpackage
// usernet; this package only carries its entry as Lima does.
package networks

import (
	"net"
	"slices"
)

// Config is the content of networks.yaml.
type Config struct {
	Paths    Paths              `yaml:"paths" json:"paths"`
	Group    string             `yaml:"group,omitempty" json:"group,omitempty"` // "everyone" by default
	Networks map[string]Network `yaml:"networks" json:"networks"`
}

// Paths are the files socket_vmnet networks use. None may contain whitespace: they are written
// into sudoers rules unquoted.
type Paths struct {
	SocketVMNet string `yaml:"socketVMNet" json:"socketVMNet"`
	VarRun      string `yaml:"varRun" json:"varRun"`
	Sudoers     string `yaml:"sudoers,omitempty" json:"sudoers,omitempty"`
}

// The network modes. user-v2 is a user-mode network; the others are vmnet.framework modes run by
// socket_vmnet, macOS only.
const (
	ModeUserV2  = "user-v2"
	ModeHost    = "host"
	ModeShared  = "shared"
	ModeBridged = "bridged"
)

// Modes lists the modes in the order `network create --mode` completes them.
var Modes = []string{ModeUserV2, ModeHost, ModeShared, ModeBridged}

// IsValidMode reports whether mode is one of Modes.
func IsValidMode(mode string) bool { return slices.Contains(Modes, mode) }

// NeedsSocketVMNet reports whether a network of this mode is run by socket_vmnet (and so works
// only on macOS).
func NeedsSocketVMNet(mode string) bool {
	return mode == ModeHost || mode == ModeShared || mode == ModeBridged
}

// Network is one entry of networks.yaml's networks map.
type Network struct {
	Mode      string `yaml:"mode" json:"mode"`                               // user-v2, host, shared or bridged
	Interface string `yaml:"interface,omitempty" json:"interface,omitempty"` // bridged only
	Gateway   net.IP `yaml:"gateway,omitempty" json:"gateway,omitempty"`     // user-v2, host and shared
	DHCPEnd   net.IP `yaml:"dhcpEnd,omitempty" json:"dhcpEnd,omitempty"`     // the gateway with last byte 254 by default
	NetMask   net.IP `yaml:"netmask,omitempty" json:"netmask,omitempty"`     // 255.255.255.0 by default
}
