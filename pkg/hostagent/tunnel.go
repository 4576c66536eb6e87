package hostagent

// The guest agent's tunnel: forwarded TCP connections over a virtio-serial port instead of SSH
// channels (pkg/portfwd/tunnel.go holds the host side, pkg/guestagent/tunnel.go the guest's).

import (
	"context"
	"errors"
	"fmt"
	"net"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/portfwd"
)

// startTunnel starts keeping the tunnel up through the driver until ctx is done, and returns it; nil
// when the knob turns it off. A driver without the channel stops it at its first dial (ports then go
// over SSH only).
func startTunnel(ctx context.Context, drv driver.Driver) *portfwd.Tunnel {
	if envknob.LimaGuestAgentTunnel.Off() {
		logrus.Infof("%s turns the guest-agent tunnel off; forwarded ports go over SSH", envknob.LimaGuestAgentTunnel.Name)
		return nil
	}
	t := portfwd.NewTunnel(func(ctx context.Context) (net.Conn, error) {
		c, err := drv.GuestAgentTunnelConn(ctx)
		if errors.Is(err, driver.ErrUnsupported) {
			return nil, fmt.Errorf("%w: %w", portfwd.ErrNoTunnel, err)
		}
		return c, err
	})
	go func() { _ = t.Run(ctx) }()
	return t
}
