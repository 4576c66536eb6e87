package networks

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os/exec"
	"path/filepath"
)

// SocketVMNet is the daemon that runs the host, shared and bridged networks.
const SocketVMNet = "socket_vmnet"

// The commands below end up in sudoers rules, which cannot quote: every argument is written as
// is, so paths and names must not contain whitespace (Validate checks the paths).

// Check returns an error unless networks.yaml defines the network name.
func (c *Config) Check(name string) error {
	if _, ok := c.Networks[name]; ok {
		return nil
	}
	return fmt.Errorf("network %#q is not defined", name)
}

// Usernet reports whether the network name is a user-v2 network.
func (c *Config) Usernet(name string) (bool, error) {
	nw, ok := c.Networks[name]
	if !ok {
		return false, fmt.Errorf("network %#q is not defined", name)
	}
	return nw.Mode == ModeUserV2, nil
}

// DaemonPath returns the executable of daemon.
func (c *Config) DaemonPath(daemon string) (string, error) {
	if daemon != SocketVMNet {
		return "", fmt.Errorf("unknown daemon type %#q", daemon)
	}
	return c.Paths.SocketVMNet, nil
}

// IsDaemonInstalled reports whether daemon's executable exists.
func (c *Config) IsDaemonInstalled(daemon string) (bool, error) {
	p, err := c.DaemonPath(daemon)
	if err != nil || p == "" {
		return false, err
	}
	if _, err := exec.LookPath(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, exec.ErrNotFound) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Sock returns the socket socket_vmnet listens on for the network name.
func (c *Config) Sock(name string) string {
	return filepath.Join(c.Paths.VarRun, "socket_vmnet."+name)
}

// PIDFile returns the pid file of daemon for the network name.
func (c *Config) PIDFile(name, daemon string) string {
	return filepath.Join(c.Paths.VarRun, fmt.Sprintf("%s_%s.pid", name, daemon))
}

// LogFile returns $LIMA_HOME/_networks/NAME_DAEMON.STREAM.log.
func LogFile(limaDir, name, daemon, stream string) string {
	return filepath.Join(limaDir, "_networks", fmt.Sprintf("%s_%s.%s.log", name, daemon, stream))
}

// MkdirCmd creates paths.varRun.
func (c *Config) MkdirCmd() string {
	return "/bin/mkdir -m 775 -p " + c.Paths.VarRun
}

// StartCmd is the command line that starts daemon for the network name.
func (c *Config) StartCmd(name, daemon string) string {
	nw := c.Networks[name]
	cmd := fmt.Sprintf("%s --pidfile=%s --socket-group=%s --vmnet-mode=%s",
		c.Paths.SocketVMNet, c.PIDFile(name, daemon), c.Group, nw.Mode)
	switch nw.Mode {
	case ModeBridged:
		cmd += " --vmnet-interface=" + nw.Interface
	case ModeHost, ModeShared:
		cmd += fmt.Sprintf(" --vmnet-gateway=%s --vmnet-dhcp-end=%s --vmnet-mask=%s",
			nw.Gateway, nw.dhcpEnd(), nw.netMask())
	}
	return cmd + " " + c.Sock(name)
}

// StopCmd is the command line that stops daemon for the network name.
func (c *Config) StopCmd(name, daemon string) string {
	return "/usr/bin/pkill -F " + c.PIDFile(name, daemon)
}

// dhcpEnd is DHCPEnd, or the gateway with its last byte 254 when unset.
func (nw Network) dhcpEnd() net.IP {
	if nw.DHCPEnd != nil || nw.Gateway == nil {
		return nw.DHCPEnd
	}
	ip := nw.Gateway.To4()
	if ip == nil {
		return nil
	}
	end := make(net.IP, len(ip))
	copy(end, ip)
	end[3] = 254
	return end
}

// netMask is NetMask, or 255.255.255.0 when unset.
func (nw Network) netMask() net.IP {
	if nw.NetMask != nil {
		return nw.NetMask
	}
	return net.IPv4(255, 255, 255, 0).To4()
}
