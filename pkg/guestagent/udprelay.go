package guestagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// UDPRelay relays datagrams between framed streams and the UDP address addr in the guest: each
// frame read from in (api.ReadDatagram) is sent to addr, and each reply is written to out as a
// frame. It returns nil when in ends. The host's UDP forwarder runs it over SSH as
// `lima-guestagent udp-relay ADDR`, one relay per host-side peer.
func UDPRelay(ctx context.Context, addr string, in io.Reader, out io.Writer) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "udp", addr)
	if err != nil {
		return fmt.Errorf("udp relay to %s: %w", addr, err)
	}
	defer func() { _ = conn.Close() }()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	go func() {
		buf := make([]byte, api.MaxDatagram)
		for {
			n, err := conn.Read(buf)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return
				}
				// ECONNREFUSED from an ICMP port unreachable: nobody listens (yet); keep going.
				continue
			}
			if api.WriteDatagram(out, buf[:n]) != nil {
				_ = conn.Close()
				return
			}
		}
	}()
	buf := make([]byte, api.MaxDatagram)
	for {
		p, err := api.ReadDatagram(in, buf)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
		if _, err := conn.Write(p); err != nil && !errors.Is(err, net.ErrClosed) {
			continue
		}
	}
}
