package hostagent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/hostagent/dns"
	"github.com/limactl/limactl/pkg/identifiers"
	"github.com/limactl/limactl/pkg/networks/usernet"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// internalSuffix ends the names of instances on user-v2 networks: lima-NAME.internal, as in Lima.
const internalSuffix = ".internal"

// usernetResolver is the guest DNS server's resolver when the instance is on user-v2 networks: it
// answers lima-NAME.internal with NAME's address on a network both instances are on (the address
// the network's DHCP server leased to NAME's NIC there), and passes every other name on. The
// answer comes from the usernet process's lease table and the instances' lima.yaml files, both
// written by the host: nothing a guest says about its name is believed.
type usernetResolver struct {
	dns.Resolver
	nets   []string // the instance's user-v2 networks, in networks[] order
	leases func(ctx context.Context, network string) (map[string]string, error)
	macOf  func(instance, network string) (string, bool)
}

// newUsernetResolver returns nil when the instance is on no user-v2 network.
func newUsernetResolver(inst *store.Instance) *usernetResolver {
	r := &usernetResolver{Resolver: net.DefaultResolver, leases: daemonLeases, macOf: instanceMAC}
	seen := map[string]bool{}
	for _, nw := range inst.Config.Networks {
		if nw.Lima == "" || seen[nw.Lima] {
			continue
		}
		seen[nw.Lima] = true
		if _, err := usernet.NewDaemon(nw.Lima); err == nil {
			r.nets = append(r.nets, nw.Lima)
		}
	}
	if len(r.nets) == 0 {
		return nil
	}
	return r
}

// internalInstance returns NAME for lima-NAME.internal (with or without the final dot).
func internalInstance(host string) (string, bool) {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	name, ok := strings.CutSuffix(host, internalSuffix)
	if !ok {
		return "", false
	}
	name, ok = strings.CutPrefix(name, "lima-")
	if !ok || identifiers.ValidateInstName(name) != nil {
		return "", false
	}
	return name, true
}

func (r *usernetResolver) LookupIP(ctx context.Context, network, host string) ([]net.IP, error) {
	name, ok := internalInstance(host)
	if !ok {
		return r.Resolver.LookupIP(ctx, network, host)
	}
	for _, nw := range r.nets {
		mac, ok := r.macOf(name, nw)
		if !ok {
			continue
		}
		leases, err := r.leases(ctx, nw)
		if err != nil {
			logrus.WithError(err).Debugf("dns: leases of network %q", nw)
			continue
		}
		if ip := usernet.LeasedIP(leases, mac); ip != nil && network != "ip6" {
			return []net.IP{ip}, nil
		}
	}
	return nil, &net.DNSError{Err: "no such instance on the user-v2 networks", Name: host, IsNotFound: true}
}

func daemonLeases(ctx context.Context, network string) (map[string]string, error) {
	ep, err := usernet.Sock(network, usernet.EndpointSock)
	if err != nil {
		return nil, err
	}
	return usernet.Leases(ctx, ep)
}

// instanceMAC returns the MAC address of instance's NIC on network, from its lima.yaml (defaults
// filled, so an entry without macAddress gets the one its driver uses).
func instanceMAC(instance, network string) (string, bool) {
	dir, err := dirnames.InstanceDir(instance)
	if err != nil {
		return "", false
	}
	path := filepath.Join(dir, filenames.LimaYAML)
	b, err := os.ReadFile(path)
	if err != nil {
		return "", false
	}
	y, err := store.LoadYAML(b, path)
	if err != nil {
		logrus.WithError(err).Debugf("dns: %s", path)
		return "", false
	}
	for _, nw := range y.Networks {
		if nw.Lima == network && nw.MACAddress != "" {
			return nw.MACAddress, true
		}
	}
	return "", false
}

// String names the resolver in debug output.
func (r *usernetResolver) String() string {
	return fmt.Sprintf("host resolver + lima-NAME%s on %s", internalSuffix, strings.Join(r.nets, ", "))
}
