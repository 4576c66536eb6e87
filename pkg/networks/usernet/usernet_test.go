package usernet

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"strings"
	"testing"

	"github.com/containers/gvisor-tap-vsock/pkg/types"

	"github.com/limactl/limactl/pkg/networks"
)

func TestSubnet(t *testing.T) {
	tests := []struct {
		nw      networks.Network
		want    string
		gateway string
		err     string
	}{
		{nw: networks.Network{Mode: networks.ModeUserV2, Gateway: net.ParseIP("192.168.104.1")}, want: "192.168.104.0/24", gateway: "192.168.104.2"},
		{nw: networks.Network{Mode: networks.ModeUserV2, Gateway: net.ParseIP("10.9.0.1"), NetMask: net.ParseIP("255.255.0.0")}, want: "10.9.0.0/16", gateway: "10.9.0.2"},
		{nw: networks.Network{Mode: networks.ModeUserV2, Gateway: net.ParseIP("10.9.8.200"), NetMask: net.ParseIP("255.255.255.128")}, want: "10.9.8.128/25", gateway: "10.9.8.130"},
		{nw: networks.Network{Mode: networks.ModeShared, Gateway: net.ParseIP("192.168.105.1")}, err: "not user-v2"},
		{nw: networks.Network{Mode: networks.ModeUserV2}, err: "IPv4 gateway"},
		{nw: networks.Network{Mode: networks.ModeUserV2, Gateway: net.ParseIP("fd00::1")}, err: "IPv4 gateway"},
		{nw: networks.Network{Mode: networks.ModeUserV2, Gateway: net.ParseIP("10.0.0.1"), NetMask: net.ParseIP("255.0.255.0")}, err: "contiguous"},
		{nw: networks.Network{Mode: networks.ModeUserV2, Gateway: net.ParseIP("10.0.0.1"), NetMask: net.ParseIP("255.255.255.252")}, err: "/29"},
	}
	for _, tt := range tests {
		got, err := Subnet(tt.nw)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("Subnet(%+v) error = %v, want %q", tt.nw, err, tt.err)
			}
			continue
		}
		if err != nil || got.String() != tt.want {
			t.Errorf("Subnet(%+v) = %v, %v; want %s", tt.nw, got, err, tt.want)
			continue
		}
		if gw := GatewayIP(got).String(); gw != tt.gateway {
			t.Errorf("GatewayIP(%s) = %s, want %s", got, gw, tt.gateway)
		}
	}
}

func TestConfiguration(t *testing.T) {
	_, subnet, _ := net.ParseCIDR("192.168.104.0/24")
	zones := []types.Zone{{Name: "internal."}}
	c := Configuration(subnet, 0, map[string]string{
		"192.168.104.10": "52:55:55:00:00:01",
		"192.168.105.10": "52:55:55:00:00:02", // outside the subnet
		"192.168.104.11": "not-a-mac",
		"192.168.104.2":  "52:55:55:00:00:03", // the gateway's address is the gateway's
		"bogus":          "52:55:55:00:00:04",
	}, zones)
	if c.Subnet != "192.168.104.0/24" || c.GatewayIP != "192.168.104.2" || c.GatewayMacAddress != GatewayMAC || c.MTU != DefaultMTU {
		t.Errorf("configuration = %+v", c)
	}
	want := map[string]string{"192.168.104.10": "52:55:55:00:00:01", "192.168.104.2": GatewayMAC}
	if len(c.DHCPStaticLeases) != len(want) {
		t.Errorf("leases = %v, want %v", c.DHCPStaticLeases, want)
	}
	for ip, mac := range want {
		if c.DHCPStaticLeases[ip] != mac {
			t.Errorf("lease %s = %q, want %q", ip, c.DHCPStaticLeases[ip], mac)
		}
	}
	if c.NAT["192.168.104.2"] != "127.0.0.1" || len(c.GatewayVirtualIPs) != 1 || c.Protocol != types.QemuProtocol {
		t.Errorf("NAT %v, virtual IPs %v, protocol %q", c.NAT, c.GatewayVirtualIPs, c.Protocol)
	}
	if len(c.DNS) != 1 || c.DNS[0].Name != "internal." {
		t.Errorf("DNS zones = %v", c.DNS)
	}
}

func TestSockIn(t *testing.T) {
	p, err := SockIn("/home/u/.lima/_networks/user-v2", "user-v2", QEMUSock)
	if err != nil || p != "/home/u/.lima/_networks/user-v2/user-v2_qemu.sock" {
		t.Errorf("SockIn = %q, %v", p, err)
	}
	if _, err := SockIn("/"+strings.Repeat("d", 100), "n", EndpointSock); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("a long path: %v", err)
	}
	if got := PIDFileIn("/x", "user-v2"); got != "/x/usernet_user-v2.pid" {
		t.Errorf("PIDFileIn = %q", got)
	}
}

func TestLeasedIP(t *testing.T) {
	leases := map[string]string{"192.168.104.3": "52:55:55:AA:00:01", "192.168.104.4": "52:55:55:aa:00:02"}
	if ip := LeasedIP(leases, "52:55:55:aa:00:01"); ip.String() != "192.168.104.3" {
		t.Errorf("LeasedIP = %v", ip)
	}
	if ip := LeasedIP(leases, "52:55:55:aa:00:09"); ip != nil {
		t.Errorf("LeasedIP of an unknown MAC = %v", ip)
	}
	if ip := LeasedIP(leases, "junk"); ip != nil {
		t.Errorf("LeasedIP of junk = %v", ip)
	}
}

// frame returns a QEMU-framed Ethernet frame from src with payload size n.
func frame(src byte, n int) []byte {
	f := make([]byte, 4+14+n)
	binary.BigEndian.PutUint32(f, uint32(14+n))
	copy(f[4:], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x55, 0x55, 0, 0, src})
	return f
}

func TestFrameFilter(t *testing.T) {
	var in bytes.Buffer
	for i := range MaxMACsPerConn + 2 {
		in.Write(frame(byte(i), 10)) // the last two come from one address too many
	}
	in.Write(frame(0, 20)) // a known address again
	short := make([]byte, 4+6)
	binary.BigEndian.PutUint32(short, 6)
	in.Write(short) // too short for Ethernet: dropped
	mcast := frame(1, 10)
	mcast[4+6] = 0x01 // a multicast source: dropped
	in.Write(mcast)
	c1, c2 := net.Pipe()
	go func() { _, _ = c2.Write(in.Bytes()); c2.Close() }()
	out, err := io.ReadAll(&frameFilter{Conn: c1})
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	for i := range MaxMACsPerConn {
		want.Write(frame(byte(i), 10))
	}
	want.Write(frame(0, 20))
	if !bytes.Equal(out, want.Bytes()) {
		t.Errorf("filtered stream is %d bytes, want %d", len(out), want.Len())
	}

	huge := make([]byte, 4)
	binary.BigEndian.PutUint32(huge, MaxFrame+1)
	c3, c4 := net.Pipe()
	go func() { _, _ = c4.Write(huge); c4.Close() }()
	if _, err := io.ReadAll(&frameFilter{Conn: c3}); !errors.Is(err, errFrameTooLarge) {
		t.Errorf("an oversized frame: %v", err)
	}
}
