package guestagent

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// ServeConn speaks the protocol on a connection that exists only while the host is there (vsock):
// it sends an Info at once, then events, and answers GetInfo, until the connection ends or ctx is done.
func (a *Agent) ServeConn(ctx context.Context, conn io.ReadWriteCloser) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	defer func() { _ = conn.Close() }()
	s := a.Subscribe()
	defer a.Unsubscribe(s)
	a.RequestInfo(s)
	werr := make(chan error, 1)
	go func() { werr <- writeLoop(ctx, s, api.NewEncoder(conn)) }()
	dec := api.NewDecoder(conn)
	rerr := make(chan error, 1)
	go func() {
		for {
			m, err := dec.Decode()
			if err != nil {
				rerr <- err
				return
			}
			a.handle(s, m)
		}
	}()
	select {
	case err := <-werr:
		return err
	case err := <-rerr:
		if errors.Is(err, io.EOF) {
			return nil
		}
		return err
	}
}

// handle acts on one message from the host; types it does not know are ignored, so a newer host
// can talk to this agent.
func (a *Agent) handle(s *Sub, m api.Message) {
	switch m.Type {
	case api.TypeGetInfo:
		a.RequestInfo(s)
	case api.TypeInotify:
		a.HandleInotify(m.Inotify)
	}
}

func writeLoop(ctx context.Context, s *Sub, enc *api.Encoder) error {
	for {
		if err := ctx.Err(); err != nil {
			return err // do not take a message meant for the next writer
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case m := <-s.C:
			if err := enc.Encode(m); err != nil {
				return err
			}
		}
	}
}

// PortOpener opens the guest end of the virtio-serial port.
type PortOpener func() (io.ReadWriteCloser, error)

// Backoff bounds the waits of ServePort while the host is not connected.
var (
	minBackoff = 50 * time.Millisecond
	maxBackoff = 1 * time.Second
)

// ServePort speaks the protocol on a virtio-serial port until ctx is done; it never gives up on its
// own. The guest end of a port reads EOF at once while no host process holds the host end, and the
// guest cannot otherwise tell when the host arrives. So reads that end (EOF, EIO) pause the events
// and are retried after a short, growing wait; the host announces itself with GetInfo, which
// resumes the events after a full Info. An Info is also queued whenever the port is opened, so a
// restarted agent announces itself to a host that stayed connected. Repeated errors (EIO), or EOF
// for about half a minute, reopen the port.
func (a *Agent) ServePort(ctx context.Context, open PortOpener) error {
	s := a.Subscribe()
	defer a.Unsubscribe(s)
	backoff := minBackoff
	wait := func() bool {
		select {
		case <-ctx.Done():
			return false
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
		return true
	}
	var loggedOpen bool
	for ctx.Err() == nil {
		port, err := open()
		if err != nil {
			if !loggedOpen {
				logrus.WithError(err).Warn("cannot open the virtio-serial port yet; retrying")
				loggedOpen = true
			}
			if !wait() {
				break
			}
			continue
		}
		loggedOpen = false
		a.servePortOnce(ctx, s, port, &backoff, wait)
	}
	return ctx.Err()
}

// eofReopen is how many EOFs in a row make ServePort reopen the port (the device may have been
// replaced); with the backoff capped at maxBackoff that is about half a minute.
var eofReopen = 30

// servePortOnce serves one open port and closes it; it returns when the port should be reopened
// or ctx is done. Its writer has ended when it returns, so two writers never share the queue.
func (a *Agent) servePortOnce(ctx context.Context, s *Sub, port io.ReadWriteCloser, backoff *time.Duration, wait func() bool) {
	pctx, cancel := context.WithCancel(ctx)
	wdone := make(chan struct{})
	go func() {
		defer close(wdone)
		if err := writeLoop(pctx, s, api.NewEncoder(port)); err != nil && pctx.Err() == nil {
			logrus.WithError(err).Debug("writing to the virtio-serial port")
		}
	}()
	stop := context.AfterFunc(ctx, func() { _ = port.Close() })
	defer func() {
		stop()
		cancel()
		_ = port.Close() // unblocks a pending write
		<-wdone
	}()
	// Announce ourselves: a host that is already connected (the agent restarted) learns the state
	// at once; otherwise the write waits in the kernel until the host connects.
	a.RequestInfo(s)
	hard, eofs := 0, 0
	for ctx.Err() == nil {
		dec := api.NewDecoder(port)
		for {
			m, err := dec.Decode()
			if err != nil {
				a.Pause(s)
				if errors.Is(err, io.EOF) {
					eofs++
				} else {
					hard++
					logrus.WithError(err).Debug("reading the virtio-serial port")
				}
				break
			}
			*backoff = minBackoff
			hard, eofs = 0, 0
			a.handle(s, m)
		}
		if hard >= 5 || eofs >= eofReopen || !wait() {
			return
		}
	}
}
