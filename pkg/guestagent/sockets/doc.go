// Package sockets lists the guest's listening TCP sockets and unconnected (bound) UDP sockets, IPv4
// and IPv6. It asks the kernel with a netlink sock_diag (inet_diag) dump and falls back to parsing
// /proc/net/{tcp,tcp6,udp,udp6} when netlink is unavailable. Linux only; elsewhere Scan fails.
package sockets

import (
	"github.com/limactl/limactl/pkg/guestagent/api"
)

// Scanner lists sockets; Scan below is the default one.
type Scanner func() ([]api.Port, error)

// dedupe sorts ps and drops repeats (SO_REUSEPORT groups list one socket per member).
func dedupe(ps []api.Port) []api.Port {
	api.SortPorts(ps)
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}
