package portfwd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/sshutil"
)

// ForwardUnix listens on the host socket hostSocket (replacing a stale socket file, creating the
// directory 0700) and forwards each connection to the guest socket guestSocket.
func ForwardUnix(ctx context.Context, hostSocket, guestSocket string, client ClientFunc) (Forwarder, error) {
	if err := os.MkdirAll(filepath.Dir(hostSocket), 0o700); err != nil {
		return nil, err
	}
	if fi, err := os.Lstat(hostSocket); err == nil {
		if fi.Mode()&os.ModeSocket == 0 {
			return nil, fmt.Errorf("%s exists and is not a socket; remove it or choose another hostSocket", hostSocket)
		}
		_ = os.Remove(hostSocket)
	}
	ln, err := net.Listen("unix", hostSocket)
	if err != nil {
		return nil, err
	}
	return startStream(ctx, ln, "unix", guestSocket, client, nil), nil
}

// reverseForwarder listens on a guest socket through SSH (streamlocal-forward@openssh.com) and
// connects each connection to a host socket.
type reverseForwarder struct {
	guestSocket, hostSocket string
	client                  ClientFunc
	ctx                     context.Context
	cancel                  context.CancelFunc
	wg                      sync.WaitGroup
}

// reverseRetry is the wait between attempts to listen on the guest socket.
var reverseRetry = 2 * time.Second

// ReverseUnix makes the guest socket guestSocket forward to the host socket hostSocket. It returns
// at once; listening in the guest is retried in the background until it works (the guest may not
// be up yet) and again whenever the SSH connection is lost.
func ReverseUnix(ctx context.Context, guestSocket, hostSocket string, client ClientFunc) Forwarder {
	f := &reverseForwarder{guestSocket: guestSocket, hostSocket: hostSocket, client: client}
	f.ctx, f.cancel = context.WithCancel(ctx)
	f.wg.Add(1)
	go f.run()
	return f
}

func (f *reverseForwarder) Addr() string { return f.guestSocket }

func (f *reverseForwarder) Close() error {
	f.cancel()
	f.wg.Wait()
	return nil
}

func (f *reverseForwarder) run() {
	defer f.wg.Done()
	logged := false
	for f.ctx.Err() == nil {
		err := f.listenOnce()
		if f.ctx.Err() != nil {
			return
		}
		if err != nil && !logged {
			logrus.WithError(err).Warnf("cannot listen on the guest socket %s yet; retrying", f.guestSocket)
			logged = true
		}
		select {
		case <-f.ctx.Done():
		case <-time.After(reverseRetry):
		}
	}
}

func (f *reverseForwarder) listenOnce() error {
	cl, err := f.client(f.ctx)
	if err != nil {
		return err
	}
	// sshd refuses to bind over an existing file: remove a stale socket first.
	dir := filepath.Dir(f.guestSocket)
	cmd := "mkdir -p " + sshutil.ShellQuote(dir) + " && rm -f " + sshutil.ShellQuote(f.guestSocket)
	if _, _, err := sshutil.Output(f.ctx, cl, cmd, nil); err != nil {
		return fmt.Errorf("preparing %s in the guest: %w", f.guestSocket, err)
	}
	ln, err := cl.ListenUnix(f.guestSocket)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(f.ctx, func() { _ = ln.Close() })
	defer stop()
	defer func() { _ = ln.Close() }()
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) || f.ctx.Err() != nil {
				return nil
			}
			return err
		}
		conns.Add(1)
		go func() {
			defer conns.Done()
			defer func() { _ = c.Close() }()
			var d net.Dialer
			h, err := d.DialContext(f.ctx, "unix", f.hostSocket)
			if err != nil {
				logrus.WithError(err).Debugf("reverse forward %s -> host %s", f.guestSocket, f.hostSocket)
				return
			}
			defer func() { _ = h.Close() }()
			proxy(f.ctx, c, h)
		}()
	}
}
