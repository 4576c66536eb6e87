package usernet

import (
	"net"
	"strings"
	"testing"

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
