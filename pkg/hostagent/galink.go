package hostagent

// The guest-agent connection is opened and read by the port forwarder (pkg/portfwd, started in
// portfwd.go). gaLink lets other host-agent parts send messages on it too (mountInotify,
// inotify.go): the forwarder's dial function is wrapped so that the current connection is known,
// and its writes are serialised with ours (each message is one Write of one line).

import (
	"context"
	"errors"
	"io"
	"sync"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// errNoGuestAgent: the guest agent is not connected (not running yet, or the guest is down).
var errNoGuestAgent = errors.New("the guest agent is not connected")

// gaLink tracks the current guest-agent connection.
type gaLink struct {
	mu   sync.Mutex
	conn *sharedConn // nil while there is none
}

// wrap returns a dial function that behaves like dial and records the connection it returns.
func (l *gaLink) wrap(dial func(context.Context) (io.ReadWriteCloser, error)) func(context.Context) (io.ReadWriteCloser, error) {
	return func(ctx context.Context) (io.ReadWriteCloser, error) {
		c, err := dial(ctx)
		if err != nil {
			return nil, err
		}
		sc := &sharedConn{rwc: c, link: l}
		l.mu.Lock()
		l.conn = sc
		l.mu.Unlock()
		return sc, nil
	}
}

// send writes m on the current connection once the guest agent has answered on it; otherwise it
// returns errNoGuestAgent (a virtio-serial port accepts writes before anyone reads them).
func (l *gaLink) send(m api.Message) error {
	l.mu.Lock()
	c := l.conn
	l.mu.Unlock()
	if c == nil || !c.answered() {
		return errNoGuestAgent
	}
	return api.NewEncoder(c).Encode(m)
}

// sharedConn is a guest-agent connection whose writes may come from several goroutines.
type sharedConn struct {
	rwc  io.ReadWriteCloser
	link *gaLink
	wmu  sync.Mutex

	rmu  sync.Mutex
	read bool // the guest agent sent something
}

func (c *sharedConn) Read(p []byte) (int, error) {
	n, err := c.rwc.Read(p)
	if n > 0 {
		c.rmu.Lock()
		c.read = true
		c.rmu.Unlock()
	}
	return n, err
}

func (c *sharedConn) answered() bool {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	return c.read
}

func (c *sharedConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.rwc.Write(p)
}

func (c *sharedConn) Close() error {
	c.link.mu.Lock()
	if c.link.conn == c {
		c.link.conn = nil
	}
	c.link.mu.Unlock()
	return c.rwc.Close()
}
