package usernet

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/pflag"
)

// Flags are the flags of the switch process (Lima's `limactl usernet` flags), defined by both
// `limactl usernet` and lima-usernet: the first passes them on to the second (Args).
type Flags struct {
	PIDFile    string
	Endpoint   string
	QEMUSocket string
	Subnet     string
	Leases     string
	MTU        int
}

// AddTo defines the flags on fs, with Lima's names and defaults.
func (f *Flags) AddTo(fs *pflag.FlagSet) {
	fs.StringVarP(&f.PIDFile, "pidfile", "p", "", "Write the pid to this file (removed at exit)")
	fs.StringVarP(&f.Endpoint, "endpoint", "e", "", "Serve the HTTP API (DHCP leases, DNS) on this Unix socket")
	fs.StringVar(&f.QEMUSocket, "listen-qemu", "", "Accept QEMU stream netdev connections on this Unix socket")
	fs.StringVar(&f.Subnet, "subnet", "192.168.104.0/24", "The network's subnet; the gateway is its second address")
	fs.StringVar(&f.Leases, "leases", "", "Static DHCP leases, IP=MAC[,IP=MAC...]")
	fs.IntVar(&f.MTU, "mtu", DefaultMTU, "MTU of the network")
}

// Args returns the flags as arguments that AddTo's flags parse back to f.
func (f *Flags) Args() []string {
	args := []string{}
	if f.PIDFile != "" {
		args = append(args, "--pidfile="+f.PIDFile)
	}
	args = append(args, "--endpoint="+f.Endpoint, "--listen-qemu="+f.QEMUSocket, "--subnet="+f.Subnet)
	if f.Leases != "" {
		args = append(args, "--leases="+f.Leases)
	}
	return append(args, "--mtu="+strconv.Itoa(f.MTU))
}

// Parse checks the flags and returns the subnet and the static DHCP leases (IP -> MAC).
func (f *Flags) Parse() (*net.IPNet, map[string]string, error) {
	_, subnet, err := net.ParseCIDR(f.Subnet)
	if err != nil || subnet.IP.To4() == nil {
		return nil, nil, fmt.Errorf("--subnet %q is not an IPv4 CIDR such as 192.168.104.0/24", f.Subnet)
	}
	if f.Endpoint == "" || f.QEMUSocket == "" {
		return nil, nil, errors.New("--endpoint and --listen-qemu are required")
	}
	leases, err := parseLeases(f.Leases)
	if err != nil {
		return nil, nil, err
	}
	return subnet, leases, nil
}

func parseLeases(s string) (map[string]string, error) {
	m := map[string]string{}
	for kv := range strings.SplitSeq(s, ",") {
		if kv == "" {
			continue
		}
		ip, mac, ok := strings.Cut(kv, "=")
		if !ok || net.ParseIP(ip) == nil {
			return nil, fmt.Errorf("--leases: %q is not IP=MAC", kv)
		}
		if _, err := net.ParseMAC(mac); err != nil {
			return nil, fmt.Errorf("--leases: %q is not IP=MAC: %w", kv, err)
		}
		m[ip] = mac
	}
	return m, nil
}
