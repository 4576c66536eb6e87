// Package usernet runs Lima's user-v2 networks: a user-mode switch (gvisor-tap-vsock's virtual
// network) shared by the instances attached to it, so they reach each other by IP and by
// lima-NAME.internal, and reach the host and the internet through its gateway.
//
// As in Lima, the switch is a separate process (`limactl usernet`, a hidden command) with its
// files in $LIMA_HOME/_networks/NAME/: NAME_qemu.sock (QEMU's stream netdevs connect there),
// NAME_ep.sock (gvisor-tap-vsock's HTTP API: DHCP leases, DNS zones), usernet_NAME.pid and the
// process's log. The first instance on the network to start starts it (Acquire); the last to stop
// stops it (Release).
//
// This package is the switch's lifecycle, its flags and its client, and links nothing of
// gvisor-tap-vsock: `limactl usernet` execs the lima-usernet binary (Binary finds it), which runs
// the switch itself (package serve), so that no other limactl process pays for gvisor's netstack.
//
// The guests are not trusted: each QEMU connection is filtered (frames of at most
// serve.MaxFrame bytes, at most serve.MaxMACsPerConn source MAC addresses, so a guest cannot grow
// the switch's MAC table without bound), connections are capped at serve.MaxConns, and nothing a
// guest sends (DHCP hostnames, DNS names) is ever written to a host file.
package usernet

import (
	"errors"
	"fmt"
	"math/big"
	"net"
	"path/filepath"

	"github.com/limactl/limactl/pkg/networks"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// The sockets of a usernet network, named NAME_TYPE.sock as in Lima.
const (
	QEMUSock     = "qemu"
	EndpointSock = "ep"
)

// GatewayMAC is the switch's gateway MAC address (Lima's).
const GatewayMAC = "5a:94:ef:e4:0c:dd"

// DefaultMTU is the MTU of the virtual network.
const DefaultMTU = 1500

// unixPathMax is the longest Unix socket path every host accepts (macOS: 104 bytes with the NUL).
const unixPathMax = 104

// Dir returns $LIMA_HOME/_networks/NAME.
func Dir(name string) (string, error) {
	lima, err := dirnames.LimaDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(lima, filenames.NetworksDir, name), nil
}

// SockIn returns the socket of type sockType for the network name in dir. Paths too long for a Unix
// socket are refused.
func SockIn(dir, name, sockType string) (string, error) {
	p := filepath.Join(dir, fmt.Sprintf("%s_%s.sock", name, sockType))
	if len(p) >= unixPathMax {
		return "", fmt.Errorf("usernet socket path %q is too long: must be less than %d bytes, but is %d (use a shorter LIMA_HOME or network name)",
			p, unixPathMax, len(p))
	}
	return p, nil
}

// Sock returns $LIMA_HOME/_networks/NAME/NAME_TYPE.sock.
func Sock(name, sockType string) (string, error) {
	dir, err := Dir(name)
	if err != nil {
		return "", err
	}
	return SockIn(dir, name, sockType)
}

// PIDFileIn returns the pid file of the usernet process of network name in dir.
func PIDFileIn(dir, name string) string {
	return filepath.Join(dir, fmt.Sprintf("usernet_%s.pid", name))
}

// Subnet returns the network of a user-v2 entry of networks.yaml: its gateway with its netmask
// (255.255.255.0 when unset).
func Subnet(nw networks.Network) (*net.IPNet, error) {
	if nw.Mode != networks.ModeUserV2 {
		return nil, fmt.Errorf("mode %q is not %s", nw.Mode, networks.ModeUserV2)
	}
	gw := nw.Gateway.To4()
	if gw == nil {
		return nil, errors.New("a user-v2 network needs an IPv4 gateway")
	}
	mask := net.IPMask(net.IPv4(255, 255, 255, 0).To4())
	if m := nw.NetMask.To4(); m != nil {
		mask = net.IPMask(m)
	}
	ones, bits := mask.Size()
	if bits != 32 || ones < 8 || ones > 29 {
		return nil, fmt.Errorf("netmask %s is not a contiguous mask from /8 to /29", nw.NetMask)
	}
	return &net.IPNet{IP: gw.Mask(mask), Mask: mask}, nil
}

// nth returns the address n after the subnet's base.
func nth(subnet *net.IPNet, n int64) net.IP {
	v := new(big.Int).SetBytes(subnet.IP.To4())
	v.Add(v, big.NewInt(n))
	b := v.Bytes()
	ip := make(net.IP, 4)
	copy(ip[4-len(b):], b)
	return ip
}

// GatewayIP is the switch's own address, which also answers DNS and DHCP: the subnet's base + 2,
// as in Lima (192.168.104.2 for the default 192.168.104.0/24).
func GatewayIP(subnet *net.IPNet) net.IP { return nth(subnet, 2) }
