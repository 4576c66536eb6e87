// Package serve runs a user-v2 network's switch: gvisor-tap-vsock's virtual network, with QEMU's
// stream netdevs attached on one Unix socket and its HTTP API (DHCP leases, DNS zones) on another.
//
// Only cmd/lima-usernet imports it: gvisor-tap-vsock's virtual network links gvisor's netstack and
// gopacket, which cost every process that links them about 10 MB of RSS and tens of milliseconds
// of package init (docs/performance.md), so limactl execs lima-usernet instead of linking them.
// See the package usernet for the process's lifecycle and files.
package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/containers/gvisor-tap-vsock/pkg/types"
	"github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork"
	"github.com/sirupsen/logrus"
)

// Limits on what the guests can make the switch hold.
const (
	// MaxConns caps the QEMU connections (NICs) attached at once.
	MaxConns = 64
	// MaxFrame is the largest Ethernet frame accepted from a connection (QEMU frames what a
	// virtio-net NIC sends, at most 64 KiB with offloads).
	MaxFrame = 65536 + 14
	// MaxMACsPerConn caps the source MAC addresses one connection may use: frames from further
	// addresses are dropped, so a guest spoofing addresses cannot grow the switch's MAC table.
	MaxMACsPerConn = 4
)

// Options configure Serve.
type Options struct {
	Subnet     *net.IPNet
	MTU        int
	Leases     map[string]string // static DHCP leases, IP -> MAC
	Zones      []types.Zone
	QEMUSocket string // Unix socket QEMU's stream netdevs connect to
	Endpoint   string // Unix socket of the HTTP API
	// Ready, when set, is closed once both sockets listen.
	Ready chan<- struct{}
}

// Serve runs the virtual network until ctx ends. Both sockets are created (replacing stale ones),
// and removed when Serve returns.
func Serve(ctx context.Context, o Options) error {
	if o.Subnet == nil || o.QEMUSocket == "" || o.Endpoint == "" {
		return errors.New("usernet: subnet, QEMU socket and endpoint are required")
	}
	vn, err := virtualnetwork.New(Configuration(o.Subnet, o.MTU, o.Leases, o.Zones))
	if err != nil {
		return fmt.Errorf("usernet: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	epLn, err := listenUnix(ctx, o.Endpoint)
	if err != nil {
		return err
	}
	defer os.Remove(o.Endpoint)
	qLn, err := listenUnix(ctx, o.QEMUSocket)
	if err != nil {
		epLn.Close()
		return err
	}
	defer os.Remove(o.QEMUSocket)

	srv := &http.Server{Handler: vn.ServicesMux(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 10 * time.Second, WriteTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if err := srv.Serve(epLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("usernet endpoint: %w", err)
		}
	}()
	go func() {
		defer wg.Done()
		if err := acceptQEMU(ctx, qLn, vn); err != nil {
			errc <- err
		}
	}()
	if o.Ready != nil {
		close(o.Ready)
	}
	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	cancel()
	_ = srv.Close()
	_ = qLn.Close()
	wg.Wait()
	return serveErr
}

func listenUnix(ctx context.Context, path string) (net.Listener, error) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "unix", path)
	if err != nil {
		return nil, fmt.Errorf("usernet: %w", err)
	}
	if ul, ok := ln.(*net.UnixListener); ok {
		ul.SetUnlinkOnClose(false) // Serve removes it
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, err
	}
	return ln, nil
}

// acceptQEMU attaches each connection to the switch, at most MaxConns at once (a connection over the
// cap is closed at once).
func acceptQEMU(ctx context.Context, ln net.Listener, vn *virtualnetwork.VirtualNetwork) error {
	sem := make(chan struct{}, MaxConns)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return nil
			}
			return fmt.Errorf("usernet: accept: %w", err)
		}
		select {
		case sem <- struct{}{}:
		default:
			logrus.Warnf("usernet: more than %d NICs attached; refusing another", MaxConns)
			conn.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			defer stop()
			if err := vn.AcceptQemu(ctx, &frameFilter{Conn: conn}); err != nil && ctx.Err() == nil {
				logrus.Debugf("usernet: a NIC disconnected: %v", err)
			}
			conn.Close()
		}()
	}
}
