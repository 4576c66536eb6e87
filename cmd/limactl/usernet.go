package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/networks/usernet"
)

// newUsernetCommand is the hidden `limactl usernet`, Lima's user-v2 network process: the qemu
// driver starts one per network (usernet.Daemon) with the sockets in $LIMA_HOME/_networks/NAME.
func newUsernetCommand() *cobra.Command {
	var pidFile, endpoint, qemuSock, subnet, leases string
	var mtu int
	cmd := &cobra.Command{
		Use:    "usernet",
		Short:  "Run a user-v2 network (started by the instances attached to it)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, ipNet, err := net.ParseCIDR(subnet)
			if err != nil || ipNet.IP.To4() == nil {
				return fmt.Errorf("--subnet %q is not an IPv4 CIDR such as 192.168.104.0/24", subnet)
			}
			if endpoint == "" || qemuSock == "" {
				return errors.New("--endpoint and --listen-qemu are required")
			}
			static, err := parseLeases(leases)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runUsernet(ctx, pidFile, usernet.ServeOptions{
				Subnet: ipNet, MTU: mtu, Leases: static, QEMUSocket: qemuSock, Endpoint: endpoint,
			})
		},
	}
	f := cmd.Flags()
	f.StringVarP(&pidFile, "pidfile", "p", "", "Write the pid to this file (removed at exit)")
	f.StringVarP(&endpoint, "endpoint", "e", "", "Serve the HTTP API (DHCP leases, DNS) on this Unix socket")
	f.StringVar(&qemuSock, "listen-qemu", "", "Accept QEMU stream netdev connections on this Unix socket")
	f.StringVar(&subnet, "subnet", "192.168.104.0/24", "The network's subnet; the gateway is its second address")
	f.StringVar(&leases, "leases", "", "Static DHCP leases, IP=MAC[,IP=MAC...]")
	f.IntVar(&mtu, "mtu", usernet.DefaultMTU, "MTU of the network")
	return cmd
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

// usernetIdleCheck is how often the usernet process looks for instances still using it.
const usernetIdleCheck = 30 * time.Second

func runUsernet(ctx context.Context, pidFile string, o usernet.ServeOptions) error {
	for _, p := range []string{o.Endpoint, o.QEMUSocket} {
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ready := make(chan struct{})
	o.Ready = ready
	served := make(chan struct{})
	var serveErr error
	go func() { serveErr = usernet.Serve(ctx, o); close(served) }()
	select {
	case <-served:
		return serveErr
	case <-ready:
	}
	// The pid file is written once both sockets listen: Daemon.Acquire waits for it.
	if pidFile != "" {
		if err := atomicfile.WriteFile(pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
			cancel()
			<-served
			return err
		}
		defer os.Remove(pidFile)
		// Started by an instance (usernet.Daemon): exit once no instance's host agent is left, even
		// when none of them could stop it. The exit happens under the network's lock, with the
		// sockets and the pid file gone.
		if dir, ok := usernet.UsersDirOf(pidFile); ok {
			go usernet.ExitWhenUnused(ctx, dir, usernetIdleCheck, func() {
				cancel()
				<-served
				_ = os.Remove(pidFile)
				os.Exit(0) // under the lock: it is released with the process
			})
		}
	}
	logrus.Infof("usernet: serving %s on %s (API %s)", o.Subnet, o.QEMUSocket, o.Endpoint)
	<-served
	return serveErr
}
