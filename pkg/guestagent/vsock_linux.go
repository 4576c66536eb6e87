package guestagent

import (
	"context"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"
)

// ServeVsock listens on vsock port and serves each connection from the host (CID 2) with ServeConn,
// until ctx is done.
func (a *Agent) ServeVsock(ctx context.Context, port uint32) error {
	fd, err := unix.Socket(unix.AF_VSOCK, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("vsock socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrVM{CID: unix.VMADDR_CID_ANY, Port: port}); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("vsock bind to port %d: %w", port, err)
	}
	if err := unix.Listen(fd, 8); err != nil {
		_ = unix.Close(fd)
		return fmt.Errorf("vsock listen on port %d: %w", port, err)
	}
	ln := os.NewFile(uintptr(fd), "vsock-listener")
	stop := context.AfterFunc(ctx, func() { _ = unix.Shutdown(fd, unix.SHUT_RDWR); _ = ln.Close() })
	defer stop()
	logrus.Infof("listening on vsock port %d", port)
	for {
		nfd, sa, err := unix.Accept4(fd, unix.SOCK_CLOEXEC)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err == unix.EINTR || err == unix.ECONNABORTED {
				continue
			}
			return fmt.Errorf("vsock accept: %w", err)
		}
		if vm, ok := sa.(*unix.SockaddrVM); !ok || vm.CID != unix.VMADDR_CID_HOST {
			logrus.Warnf("refusing a vsock connection from %+v: only the host may connect", sa)
			_ = unix.Close(nfd)
			continue
		}
		conn := os.NewFile(uintptr(nfd), "vsock-conn")
		go func() {
			if err := a.ServeConn(ctx, conn); err != nil && ctx.Err() == nil {
				logrus.WithError(err).Debug("vsock connection ended")
			}
		}()
	}
}
