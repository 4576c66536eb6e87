// Package portfwd decides which guest ports are forwarded to which host addresses (Lima's
// portForwards rules), and runs the forwarders: TCP over SSH direct-tcpip channels, UDP through a
// relay process in the guest started over SSH, and Unix sockets over SSH streamlocal channels in
// both directions. Manager ties them to the guest agent's port events.
//
// The matching is pure (no I/O): Lookup(rules, port) says what happens to one guest listener.
package portfwd

import (
	"net"
	"strconv"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/limayaml"
)

// SSHGuestPort is the guest's SSH port, never forwarded.
const SSHGuestPort = 22

// HostAgentRules returns the list the host agent matches guest ports against, in order: ignore
// port 22 and sshLocalPort on every guest IP, then the user's rules, then the default rule
// (127.0.0.1, any protocol, every port, to the same port on 127.0.0.1). The user's rules are
// completed with Normalize; socket rules are kept (Lookup skips them).
func HostAgentRules(user []limayaml.PortForward, sshLocalPort int) []limayaml.PortForward {
	rules := make([]limayaml.PortForward, 0, len(user)+3)
	for _, port := range []int{SSHGuestPort, sshLocalPort} {
		if port <= 0 {
			continue
		}
		rules = append(rules, Normalize(limayaml.PortForward{GuestIP: "0.0.0.0", GuestPort: port, Ignore: true}))
	}
	for _, r := range user {
		rules = append(rules, Normalize(r))
	}
	return append(rules, Normalize(limayaml.PortForward{}))
}

// Normalize fills what FillDefault fills for a rule (guestIP, hostIP, proto, port ranges), for rules
// that did not go through it. It leaves set fields and socket paths alone and is idempotent.
func Normalize(r limayaml.PortForward) limayaml.PortForward {
	if r.Proto == "" {
		r.Proto = limayaml.ProtoAny
	}
	if r.GuestIP == "" {
		r.GuestIP = "127.0.0.1"
		if r.GuestIPMustBeZero {
			r.GuestIP = "0.0.0.0"
		}
	}
	if r.HostIP == "" {
		r.HostIP = "127.0.0.1"
	}
	if r.GuestPortRange == (limayaml.PortRange{}) {
		if r.GuestPort == 0 {
			r.GuestPortRange = limayaml.PortRange{1, 65535}
		} else {
			r.GuestPortRange = limayaml.PortRange{r.GuestPort, r.GuestPort}
		}
	}
	if r.HostPortRange == (limayaml.PortRange{}) {
		if r.HostPort == 0 {
			r.HostPortRange = r.GuestPortRange
		} else {
			r.HostPortRange = limayaml.PortRange{r.HostPort, r.HostPort}
		}
	}
	return r
}

// ForwardingDisabled reports whether the user's first rule ignores every port of both protocols on
// every guest IP: then no port is forwarded from guest-agent events (static and socket rules still
// apply), and the host agent need not watch the guest's ports at all.
func ForwardingDisabled(user []limayaml.PortForward) bool {
	for _, r := range user {
		r = Normalize(r)
		if r.GuestSocket != "" || r.HostSocket != "" {
			continue
		}
		ip := net.ParseIP(r.GuestIP)
		return r.Ignore && r.Proto == limayaml.ProtoAny && !r.GuestIPMustBeZero &&
			ip != nil && ip.IsUnspecified() && r.GuestPortRange == limayaml.PortRange{1, 65535}
	}
	return false
}

// Match says what happens to one guest port.
type Match struct {
	// Rule is the index of the matching rule in the list, -1 when none matched.
	Rule int
	// Forward is true when the port is forwarded to HostAddr; false for an ignore rule or no match.
	Forward bool
	// HostAddr is "IP:PORT" on the host (brackets for IPv6).
	HostAddr string
	// GuestAddr is where to connect in the guest: the guest's address, with a wildcard listener
	// (0.0.0.0, ::) replaced by the loopback address of its family.
	GuestAddr string
}

var ipv4Loopback = net.IPv4(127, 0, 0, 1)

// Lookup matches a guest port against rules (first match wins), with Lima's semantics:
//   - proto must equal the rule's, or the rule's is "any"; the port must be in guestPortRange;
//   - a guest listener on 0.0.0.0 or :: matches any rule's guestIP; ::1 matches a 127.0.0.1 rule;
//     otherwise the IPs must be equal, except that a rule for 0.0.0.0 matches every guest IP unless
//     guestIPMustBeZero (then only a wildcard listener matches);
//   - an ignore rule for a specific IP does not stop a wildcard listener: matching goes on;
//   - the host port is guestPort + (hostPortRange[0] - guestPortRange[0]).
//
// Socket rules (guestSocket set) never match ports. Rules should be Normalized.
func Lookup(rules []limayaml.PortForward, p api.Port) Match {
	guestIP := net.ParseIP(p.IP)
	m := Match{Rule: -1, GuestAddr: guestDialAddr(guestIP, p.Port)}
	if guestIP == nil {
		return m
	}
	for i, r := range rules {
		if r.GuestSocket != "" {
			continue
		}
		if r.Proto != limayaml.ProtoAny && r.Proto != p.Proto {
			continue
		}
		if p.Port < r.GuestPortRange[0] || p.Port > r.GuestPortRange[1] {
			continue
		}
		ruleIP := net.ParseIP(r.GuestIP)
		if ruleIP == nil {
			continue
		}
		switch {
		case guestIP.IsUnspecified():
		case guestIP.Equal(ruleIP):
		case guestIP.Equal(net.IPv6loopback) && ruleIP.Equal(ipv4Loopback):
		case ruleIP.IsUnspecified() && !r.GuestIPMustBeZero:
		default:
			continue
		}
		if r.Ignore {
			if guestIP.IsUnspecified() && !ruleIP.IsUnspecified() {
				continue
			}
			m.Rule = i
			return m
		}
		m.Rule = i
		m.Forward = true
		m.HostAddr = net.JoinHostPort(r.HostIP, strconv.Itoa(p.Port+r.HostPortRange[0]-r.GuestPortRange[0]))
		return m
	}
	return m
}

// guestDialAddr is where a forwarder connects for a listener on ip:port.
func guestDialAddr(ip net.IP, port int) string {
	switch {
	case ip == nil:
		return ""
	case ip.Equal(net.IPv4zero):
		ip = ipv4Loopback
	case ip.Equal(net.IPv6unspecified):
		ip = net.IPv6loopback
	}
	return net.JoinHostPort(ip.String(), strconv.Itoa(port))
}
