package serve

import (
	"net"

	"github.com/containers/gvisor-tap-vsock/pkg/types"

	"github.com/limactl/limactl/pkg/networks/usernet"
)

// Configuration is gvisor-tap-vsock's configuration for a network on subnet: the gateway at
// GatewayIP, which NATs to the host's 127.0.0.1 as Lima's does, static DHCP leases (IP -> MAC;
// leases outside the subnet are dropped) and the DNS zones the gateway answers.
func Configuration(subnet *net.IPNet, mtu int, leases map[string]string, zones []types.Zone) *types.Configuration {
	gw := usernet.GatewayIP(subnet).String()
	static := map[string]string{}
	for ip, mac := range leases {
		if parsed := net.ParseIP(ip); parsed != nil && subnet.Contains(parsed) && ip != gw {
			if hw, err := net.ParseMAC(mac); err == nil && len(hw) == 6 {
				static[parsed.String()] = hw.String()
			}
		}
	}
	static[gw] = usernet.GatewayMAC
	if mtu <= 0 {
		mtu = usernet.DefaultMTU
	}
	return &types.Configuration{
		MTU:               mtu,
		Subnet:            subnet.String(),
		GatewayIP:         gw,
		GatewayMacAddress: usernet.GatewayMAC,
		DHCPStaticLeases:  static,
		Forwards:          map[string]string{},
		DNS:               zones,
		NAT:               map[string]string{gw: "127.0.0.1"},
		GatewayVirtualIPs: []string{gw},
		Protocol:          types.QemuProtocol,
	}
}
