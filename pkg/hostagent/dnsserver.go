package hostagent

import (
	"fmt"
	"maps"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/cidata"
	"github.com/limactl/limactl/pkg/hostagent/dns"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
)

// dnsDrivers are the vmTypes whose guest network reaches the host's loopback at the gateway
// (192.168.5.2:PORT is the host's 127.0.0.1:PORT): qemu's user-mode network. Lima runs the server
// for vz and wsl2 too, but there its vz guests sit on gvisor-tap-vsock's network; ours use Apple's
// NAT and wsl2 the WSL network, where the guest cannot reach a server on the host's 127.0.0.1.
var dnsDrivers = map[string]bool{limayaml.QEMU: true}

// startDNS starts the guest's DNS server (hostResolver) on ephemeral ports of 127.0.0.1, before the
// seed is written (the ports go into its per-boot lima.env). nil when hostResolver is disabled or
// the driver's network cannot reach it; the guest then uses the hypervisor's DNS.
func startDNS(inst *store.Instance, vmType string) (*dns.Server, error) {
	y := inst.Config
	if !deref(y.HostResolver.Enabled) {
		return nil, nil
	}
	if !dnsDrivers[vmType] {
		logrus.Debugf("hostResolver: not with vmType %s; the guest uses the hypervisor's DNS", vmType)
		return nil, nil
	}
	hosts := maps.Clone(y.HostResolver.Hosts)
	if hosts == nil {
		hosts = map[string]string{}
	}
	// As Lima's host agent: the gateway and the guest's own name always resolve (the defaults put
	// them in hostResolver.hosts already; a user's value is kept).
	for name, addr := range map[string]string{
		limayaml.HostLimaInternal:    cidata.DefaultSlirpGateway,
		limayaml.Hostname(inst.Name): cidata.DefaultSlirpIPAddress,
	} {
		if _, ok := hosts[name]; !ok {
			hosts[name] = addr
		}
	}
	opts := dns.Options{IPv6: deref(y.HostResolver.IPv6), StaticHosts: hosts}
	if r := newUsernetResolver(inst); r != nil { // usernet.go: lima-NAME.internal on user-v2 networks
		opts.Resolver = r
	}
	s, err := dns.Listen("127.0.0.1", opts)
	if err != nil {
		return nil, fmt.Errorf("cannot start the DNS server for the guest (hostResolver; set hostResolver.enabled: false to do without): %w", err)
	}
	logrus.Infof("DNS server for the guest (hostResolver) on 127.0.0.1: udp %d, tcp %d", s.UDPPort(), s.TCPPort())
	return s, nil
}

// closeDNS stops the DNS server, if any.
func (a *agent) closeDNS() {
	if a.dns == nil {
		return
	}
	if err := a.dns.Close(); err != nil {
		logrus.WithError(err).Debug("closing the DNS server")
	}
	a.dns = nil
}
