package portfwd

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/pipe"
)

// ClientFunc returns the SSH connection to the guest, dialling it when needed. Forwarders call it
// for every new connection, so a reconnected client is picked up.
type ClientFunc func(ctx context.Context) (*ssh.Client, error)

// Forwarder is one running forward.
type Forwarder interface {
	// Addr is the host side: "IP:PORT" or a socket path (the guest socket for a reverse forward).
	Addr() string
	// Close stops listening and ends the forward's connections.
	Close() error
}

// streamForwarder accepts on a host listener and connects each connection to the guest: TCP through
// the guest agent's tunnel when it is up (tunnel.go), else through an SSH channel: direct-tcpip for
// TCP, direct-streamlocal@openssh.com for Unix sockets.
type streamForwarder struct {
	ln      net.Listener
	network string                 // "tcp" or "unix", in the guest
	target  atomic.Pointer[string] // the guest address
	client  ClientFunc
	tunnel  GuestDialer // nil: SSH only
	ctx     context.Context
	cancel  context.CancelFunc
	conns   sync.WaitGroup
}

// ForwardTCP listens on hostAddr and forwards each connection to guestAddr (as seen in the guest),
// through tunnel when it is not nil and up, else over SSH.
func ForwardTCP(ctx context.Context, hostAddr, guestAddr string, client ClientFunc, tunnel GuestDialer) (Forwarder, error) {
	ln, err := net.Listen("tcp", hostAddr)
	if err != nil {
		return nil, err
	}
	return startStream(ctx, ln, "tcp", guestAddr, client, tunnel), nil
}

func startStream(ctx context.Context, ln net.Listener, network, target string, client ClientFunc, tunnel GuestDialer) *streamForwarder {
	f := &streamForwarder{ln: ln, network: network, client: client, tunnel: tunnel}
	f.target.Store(&target)
	f.ctx, f.cancel = context.WithCancel(ctx)
	go f.accept()
	return f
}

// SetTarget changes where new connections go (another guest listener took over the host port).
func (f *streamForwarder) SetTarget(addr string) { f.target.Store(&addr) }

func (f *streamForwarder) Addr() string { return f.ln.Addr().String() }

func (f *streamForwarder) Close() error {
	f.cancel()
	err := f.ln.Close()
	f.conns.Wait()
	return err
}

func (f *streamForwarder) accept() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			if f.ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				logrus.WithError(err).Warnf("port forward %s stopped accepting", f.Addr())
			}
			return
		}
		f.conns.Add(1)
		go func() {
			defer f.conns.Done()
			f.serve(c)
		}()
	}
}

func (f *streamForwarder) serve(c net.Conn) {
	defer func() { _ = c.Close() }()
	target := *f.target.Load()
	if f.tunnel != nil && f.network == "tcp" {
		g, err := f.tunnel.DialGuest(f.ctx, f.network, target)
		switch {
		case err == nil:
			logrus.Debugf("port forward %s -> guest %s: through the guest-agent tunnel", f.Addr(), target)
			defer func() { _ = g.Close() }()
			proxy(f.ctx, c, g)
			return
		case errors.Is(err, api.ErrTunnelRefused):
			logrus.WithError(err).Debugf("port forward %s -> guest %s", f.Addr(), target)
			return
		case errors.Is(err, ErrTunnelDown):
			logrus.Debugf("port forward %s -> guest %s: over SSH (%v)", f.Addr(), target, err)
		default:
			logrus.WithError(err).Debugf("port forward %s -> guest %s: the tunnel failed; over SSH", f.Addr(), target)
		}
	} else {
		logrus.Debugf("port forward %s -> guest %s: over SSH", f.Addr(), target)
	}
	cl, err := f.client(f.ctx)
	if err != nil {
		logrus.WithError(err).Debugf("port forward %s: no SSH connection to the guest", f.Addr())
		return
	}
	g, err := cl.Dial(f.network, target)
	if err != nil {
		logrus.WithError(err).Debugf("port forward %s -> guest %s", f.Addr(), target)
		return
	}
	defer func() { _ = g.Close() }()
	proxy(f.ctx, c, g)
}

// proxy copies both ways until both directions ended (half-closes are passed on) or ctx is done.
func proxy(ctx context.Context, a, b net.Conn) {
	stop := context.AfterFunc(ctx, func() { _ = a.Close(); _ = b.Close() })
	defer stop()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = pipe.Copy(dst, src)
		if cw, ok := dst.(interface{ CloseWrite() error }); ok {
			_ = cw.CloseWrite()
		} else {
			_ = dst.Close()
		}
		done <- struct{}{}
	}
	go pipe(a, b)
	go pipe(b, a)
	<-done
	<-done
}
