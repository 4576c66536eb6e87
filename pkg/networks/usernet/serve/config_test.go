package serve

import (
	"net"
	"testing"

	"github.com/containers/gvisor-tap-vsock/pkg/types"

	"github.com/limactl/limactl/pkg/networks/usernet"
)

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
	if c.Subnet != "192.168.104.0/24" || c.GatewayIP != "192.168.104.2" || c.GatewayMacAddress != usernet.GatewayMAC || c.MTU != usernet.DefaultMTU {
		t.Errorf("configuration = %+v", c)
	}
	want := map[string]string{"192.168.104.10": "52:55:55:00:00:01", "192.168.104.2": usernet.GatewayMAC}
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
