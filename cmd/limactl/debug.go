package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/hostagent/dns"
	"github.com/limactl/limactl/pkg/iostreams"
)

// debugLong is Lima's warning on the hidden debug commands.
const debugLong = "DO NOT USE! THE COMMAND SYNTAX IS SUBJECT TO CHANGE!"

func newDebugCommand(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:    "debug",
		Short:  "Debug utilities",
		Long:   debugLong,
		Hidden: true,
	}
	cmd.AddCommand(newDebugDNSCommand(ios))
	return cmd
}

// newDebugDNSCommand runs the host agent's DNS server (hostResolver) on 127.0.0.1 until
// interrupted, to query it with dig: `dig @127.0.0.1 -p UDPPORT example.com`.
func newDebugDNSCommand(_ *iostreams.IOStreams) *cobra.Command {
	var ipv6 bool
	cmd := &cobra.Command{
		Use:   "dns UDPPORT [TCPPORT]",
		Short: "Debug built-in DNS",
		Long:  debugLong,
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			ports, err := debugDNSPorts(args)
			if err != nil {
				return err
			}
			srv, err := dns.Listen("127.0.0.1", dns.Options{
				IPv6:        ipv6,
				StaticHosts: map[string]string{},
				UDPPort:     ports[0],
				TCPPort:     ports[1],
			})
			if err != nil {
				return err
			}
			defer srv.Close()
			logrus.Infof("Started the DNS server on 127.0.0.1 (UDP %d, TCP %d)", srv.UDPPort(), srv.TCPPort())
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			<-ctx.Done()
			return nil
		},
	}
	cmd.Flags().BoolVarP(&ipv6, "ipv6", "6", false, "Lookup IPv6 addresses too")
	return cmd
}

// debugDNSPorts parses UDPPORT [TCPPORT]; a missing TCPPORT is 0 (an ephemeral port).
func debugDNSPorts(args []string) ([2]int, error) {
	var ports [2]int
	for i, a := range args {
		p, err := strconv.Atoi(a)
		if err != nil || p < 0 || p > 65535 {
			return ports, fmt.Errorf("invalid port %q", a)
		}
		ports[i] = p
	}
	return ports, nil
}
