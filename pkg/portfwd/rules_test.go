package portfwd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/limayaml"
)

const sshLocal = 60022

func tcp(ip string, port int) api.Port { return api.Port{IP: ip, Port: port, Proto: "tcp"} }
func udp(ip string, port int) api.Port { return api.Port{IP: ip, Port: port, Proto: "udp"} }

func TestLookup(t *testing.T) {
	type pf = limayaml.PortForward
	cases := []struct {
		name  string
		user  []pf
		port  api.Port
		want  string // host address, "" = not forwarded
		guest string // GuestAddr when forwarded (default: derived from the port)
	}{
		// The default rule: loopback only, same port.
		{name: "default loopback tcp", port: tcp("127.0.0.1", 8000), want: "127.0.0.1:8000"},
		{name: "default loopback udp", port: udp("127.0.0.1", 5353), want: "127.0.0.1:5353"},
		{name: "default wildcard v4", port: tcp("0.0.0.0", 8000), want: "127.0.0.1:8000", guest: "127.0.0.1:8000"},
		{name: "default wildcard v6", port: tcp("::", 8000), want: "127.0.0.1:8000", guest: "[::1]:8000"},
		{name: "default ::1 matches 127.0.0.1", port: tcp("::1", 8000), want: "127.0.0.1:8000", guest: "[::1]:8000"},
		{name: "default does not forward other IPs", port: tcp("192.168.5.15", 8000)},
		{name: "default does not forward 127.0.0.53", port: udp("127.0.0.53", 53)},
		{name: "default port 1 (host decides if it can bind)", port: tcp("127.0.0.1", 1), want: "127.0.0.1:1"},

		// The built-in ignores: guest 22 and the SSH local port, on every IP.
		{name: "ssh 22 ignored", port: tcp("0.0.0.0", 22)},
		{name: "ssh 22 on loopback ignored", port: tcp("127.0.0.1", 22)},
		{name: "ssh 22 udp ignored too", port: udp("127.0.0.1", 22)},
		{name: "ssh local port ignored", port: tcp("127.0.0.1", sshLocal)},
		{name: "ssh 22 ignored before a user rule", user: []pf{{GuestPort: 22, HostPort: 2222}}, port: tcp("127.0.0.1", 22)},

		// User rules come before the default.
		{name: "host port mapping", user: []pf{{GuestPort: 80, HostPort: 8080}}, port: tcp("127.0.0.1", 80), want: "127.0.0.1:8080"},
		{
			name: "range offset", user: []pf{{GuestPortRange: limayaml.PortRange{3000, 3009}, HostPortRange: limayaml.PortRange{13000, 13009}}},
			port: tcp("127.0.0.1", 3004), want: "127.0.0.1:13004",
		},
		{
			name: "outside the range falls to the default", user: []pf{{GuestPortRange: limayaml.PortRange{3000, 3009}, HostPortRange: limayaml.PortRange{13000, 13009}}},
			port: tcp("127.0.0.1", 3010), want: "127.0.0.1:3010",
		},
		{name: "first match wins", user: []pf{{GuestPort: 80, HostPort: 8080}, {GuestPort: 80, HostPort: 9090}}, port: tcp("127.0.0.1", 80), want: "127.0.0.1:8080"},
		{name: "host IP all interfaces only when asked", user: []pf{{GuestPort: 80, HostIP: "0.0.0.0"}}, port: tcp("127.0.0.1", 80), want: "0.0.0.0:80"},
		{name: "host IPv6", user: []pf{{GuestPort: 80, HostIP: "::1", HostPort: 8080}}, port: tcp("127.0.0.1", 80), want: "[::1]:8080"},

		// Protocols.
		{name: "tcp rule skips udp", user: []pf{{GuestPort: 53, HostPort: 5353, Proto: "tcp"}}, port: udp("127.0.0.1", 53), want: "127.0.0.1:53"},
		{name: "udp rule", user: []pf{{GuestPort: 53, HostPort: 5353, Proto: "udp"}}, port: udp("127.0.0.1", 53), want: "127.0.0.1:5353"},
		{name: "any rule takes both", user: []pf{{GuestPort: 53, HostPort: 5353}}, port: tcp("127.0.0.1", 53), want: "127.0.0.1:5353"},
		{name: "udp ignore leaves tcp", user: []pf{{GuestPort: 53, Proto: "udp", Ignore: true}}, port: tcp("127.0.0.1", 53), want: "127.0.0.1:53"},
		{name: "udp ignore", user: []pf{{GuestPort: 53, Proto: "udp", Ignore: true}}, port: udp("127.0.0.1", 53)},

		// Guest IPs.
		{name: "specific guest IP", user: []pf{{GuestIP: "192.168.5.15", GuestPort: 80, HostPort: 8080}}, port: tcp("192.168.5.15", 80), want: "127.0.0.1:8080", guest: "192.168.5.15:80"},
		{name: "specific guest IP does not match loopback", user: []pf{{GuestIP: "192.168.5.15", GuestPort: 80, HostPort: 8080}}, port: tcp("127.0.0.1", 80), want: "127.0.0.1:80"},
		{name: "wildcard listener matches a specific-IP rule", user: []pf{{GuestIP: "192.168.5.15", GuestPort: 80, HostPort: 8080}}, port: tcp("0.0.0.0", 80), want: "127.0.0.1:8080"},
		{name: "rule 0.0.0.0 matches any guest IP", user: []pf{{GuestIP: "0.0.0.0", HostIP: "0.0.0.0"}}, port: tcp("10.0.0.7", 9000), want: "0.0.0.0:9000", guest: "10.0.0.7:9000"},
		{name: "rule 0.0.0.0 matches loopback", user: []pf{{GuestIP: "0.0.0.0", GuestPort: 9000, HostPort: 19000}}, port: tcp("127.0.0.1", 9000), want: "127.0.0.1:19000"},
		{name: "guestIPMustBeZero skips a specific IP", user: []pf{{GuestIPMustBeZero: true, GuestPort: 9000, HostPort: 19000}}, port: tcp("127.0.0.1", 9000), want: "127.0.0.1:9000"},
		{name: "guestIPMustBeZero takes 0.0.0.0", user: []pf{{GuestIPMustBeZero: true, GuestPort: 9000, HostPort: 19000}}, port: tcp("0.0.0.0", 9000), want: "127.0.0.1:19000"},
		{name: "guestIPMustBeZero takes ::", user: []pf{{GuestIPMustBeZero: true, GuestPort: 9000, HostPort: 19000}}, port: tcp("::", 9000), want: "127.0.0.1:19000"},
		{name: "rule ::1", user: []pf{{GuestIP: "::1", GuestPort: 9000, HostPort: 19000}}, port: tcp("::1", 9000), want: "127.0.0.1:19000"},

		// Ignore rules.
		{name: "ignore loopback port", user: []pf{{GuestPort: 8000, Ignore: true}}, port: tcp("127.0.0.1", 8000)},
		{name: "ignore ::1 via 127.0.0.1", user: []pf{{GuestPort: 8000, Ignore: true}}, port: tcp("::1", 8000)},
		{name: "specific-IP ignore does not block a wildcard listener", user: []pf{{GuestPort: 8000, Ignore: true}}, port: tcp("0.0.0.0", 8000), want: "127.0.0.1:8000"},
		{name: "0.0.0.0 ignore blocks the wildcard listener", user: []pf{{GuestIP: "0.0.0.0", GuestPort: 8000, Ignore: true}}, port: tcp("0.0.0.0", 8000)},
		{name: "0.0.0.0 ignore blocks loopback", user: []pf{{GuestIP: "0.0.0.0", GuestPort: 8000, Ignore: true}}, port: tcp("127.0.0.1", 8000)},
		{name: "ignore range", user: []pf{{GuestIP: "0.0.0.0", GuestPortRange: limayaml.PortRange{1, 1023}, Ignore: true}}, port: tcp("127.0.0.1", 80)},
		{name: "ignore all", user: []pf{{GuestIP: "0.0.0.0", Ignore: true}}, port: udp("::", 4000)},
		{name: "forward before ignore", user: []pf{{GuestPort: 8000, HostPort: 18000}, {GuestIP: "0.0.0.0", Ignore: true}}, port: tcp("127.0.0.1", 8000), want: "127.0.0.1:18000"},

		// Socket rules never match ports.
		{name: "socket rule skipped", user: []pf{{GuestSocket: "/run/x.sock", HostSocket: "/tmp/x.sock"}}, port: tcp("127.0.0.1", 8000), want: "127.0.0.1:8000"},
		{name: "bad guest IP string", port: tcp("not-an-ip", 8000)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rules := HostAgentRules(c.user, sshLocal)
			m := Lookup(rules, c.port)
			if m.Forward != (c.want != "") || m.HostAddr != c.want {
				t.Errorf("Lookup(%v) = forward %v to %q (rule %d), want %q", c.port, m.Forward, m.HostAddr, m.Rule, c.want)
			}
			if c.guest != "" && m.GuestAddr != c.guest {
				t.Errorf("GuestAddr = %q, want %q", m.GuestAddr, c.guest)
			}
		})
	}
}

func TestHostAgentRules(t *testing.T) {
	got := HostAgentRules([]limayaml.PortForward{{GuestPort: 80, HostPort: 8080, Proto: "tcp"}}, 60022)
	want := []limayaml.PortForward{
		{GuestIP: "0.0.0.0", GuestPort: 22, GuestPortRange: limayaml.PortRange{22, 22}, HostIP: "127.0.0.1", HostPortRange: limayaml.PortRange{22, 22}, Proto: "any", Ignore: true},
		{GuestIP: "0.0.0.0", GuestPort: 60022, GuestPortRange: limayaml.PortRange{60022, 60022}, HostIP: "127.0.0.1", HostPortRange: limayaml.PortRange{60022, 60022}, Proto: "any", Ignore: true},
		{GuestIP: "127.0.0.1", GuestPort: 80, GuestPortRange: limayaml.PortRange{80, 80}, HostIP: "127.0.0.1", HostPort: 8080, HostPortRange: limayaml.PortRange{8080, 8080}, Proto: "tcp"},
		{GuestIP: "127.0.0.1", GuestPortRange: limayaml.PortRange{1, 65535}, HostIP: "127.0.0.1", HostPortRange: limayaml.PortRange{1, 65535}, Proto: "any"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("HostAgentRules (-want +got):\n%s", diff)
	}
}

func TestNormalizeIdempotent(t *testing.T) {
	for _, r := range []limayaml.PortForward{{}, {GuestPort: 80}, {GuestIPMustBeZero: true}, {GuestPortRange: limayaml.PortRange{1, 5}, HostPort: 0}} {
		once := Normalize(r)
		if diff := cmp.Diff(once, Normalize(once)); diff != "" {
			t.Errorf("Normalize(%+v) is not idempotent:\n%s", r, diff)
		}
	}
	if got := Normalize(limayaml.PortForward{GuestIPMustBeZero: true}).GuestIP; got != "0.0.0.0" {
		t.Errorf("guestIPMustBeZero default guestIP = %q, want 0.0.0.0", got)
	}
}

func TestForwardingDisabled(t *testing.T) {
	type pf = limayaml.PortForward
	cases := []struct {
		name string
		user []pf
		want bool
	}{
		{"no rules", nil, false},
		{"leading ignore-all", []pf{{GuestIP: "0.0.0.0", Ignore: true}}, true},
		{"leading ignore-all, explicit range", []pf{{GuestIP: "0.0.0.0", GuestPortRange: limayaml.PortRange{1, 65535}, Proto: "any", Ignore: true}}, true},
		{"after a socket rule", []pf{{GuestSocket: "/a", HostSocket: "/b"}, {GuestIP: "0.0.0.0", Ignore: true}}, true},
		{"loopback only", []pf{{Ignore: true}}, false},
		{"tcp only", []pf{{GuestIP: "0.0.0.0", Proto: "tcp", Ignore: true}}, false},
		{"partial range", []pf{{GuestIP: "0.0.0.0", GuestPortRange: limayaml.PortRange{1, 1023}, Ignore: true}}, false},
		{"not first", []pf{{GuestPort: 80}, {GuestIP: "0.0.0.0", Ignore: true}}, false},
		{"must be zero", []pf{{GuestIPMustBeZero: true, Ignore: true}}, false},
	}
	for _, c := range cases {
		if got := ForwardingDisabled(c.user); got != c.want {
			t.Errorf("%s: ForwardingDisabled = %v, want %v", c.name, got, c.want)
		}
	}
}
