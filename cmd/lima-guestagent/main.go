// Command lima-guestagent runs inside Linux guests. `daemon` watches the guest's listening sockets
// and reports them to the host agent over a virtio-serial port or vsock (`stdio` does the same on
// stdin and stdout, for hosts that reach the guest over SSH only), and carries forwarded TCP
// connections over a second virtio-serial port, the tunnel, when there is one; `udp-relay ADDR`
// carries datagrams for the host's UDP port forwarder over SSH; `version` prints the version.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent"
	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/guestagent/sockets"
	buildversion "github.com/limactl/limactl/pkg/version"
)

// version is set by the Makefile (-X main.version=...); init settles it as limactl does.
var version string

func init() { version = buildversion.Resolve(version) }

const usage = `Usage:
  lima-guestagent daemon [--virtio-port NAME] [--tunnel-port NAME] [--vsock-port N] [--debug]
  lima-guestagent stdio
  lima-guestagent udp-relay ADDR
  lima-guestagent version
`

func main() {
	if err := run(os.Args[1:], os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lima-guestagent:", err)
		os.Exit(1)
	}
}

func run(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) == 0 {
		return errors.New("missing command; see `lima-guestagent help`")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	switch args[0] {
	case "version", "--version", "-v":
		_, _ = fmt.Fprintln(stdout, "lima-guestagent version", version)
		return nil
	case "udp-relay":
		if len(args) != 2 {
			return errors.New("udp-relay takes one argument, the guest address (e.g. 127.0.0.1:53)")
		}
		return guestagent.UDPRelay(ctx, args[1], stdin, stdout)
	case "daemon":
		return daemon(ctx, args[1:])
	case "stdio":
		// The protocol on stdin/stdout, for a host that reaches the guest only over SSH.
		a := guestagent.New(sockets.Scan, 0)
		a.ScanOnce() // the first Info is complete
		go func() { _ = a.Run(ctx) }()
		return a.ServeConn(ctx, stdio{stdin, stdout})
	case "help", "--help", "-h":
		_, _ = fmt.Fprint(stdout, usage)
		return nil
	}
	return fmt.Errorf("unknown command %q; see `lima-guestagent help`", args[0])
}

type stdio struct {
	io.Reader
	io.Writer
}

func (stdio) Close() error { return nil }

func daemon(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("daemon", flag.ContinueOnError)
	virtioPort := fs.String("virtio-port", "", "name of the virtio-serial port (/dev/virtio-ports/NAME) to talk to the host on")
	tunnelPort := fs.String("tunnel-port", api.TunnelPortName, "name of the virtio-serial port (/dev/virtio-ports/NAME) carrying forwarded TCP connections, used with --virtio-port when it exists (\"\": none)")
	vsockPort := fs.Uint("vsock-port", 0, "vsock port to listen on for the host (0: none)")
	debug := fs.Bool("debug", false, "log debug messages")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("daemon takes no arguments, got %q", fs.Args())
	}
	if *debug {
		logrus.SetLevel(logrus.DebugLevel)
	}
	if *virtioPort == "" && *vsockPort == 0 {
		return errors.New("daemon needs --virtio-port or --vsock-port: the host agent has no other way to reach it")
	}
	a := guestagent.New(sockets.Scan, 0)
	a.ScanOnce() // the first Info is complete
	errCh := make(chan error, 3)
	go func() { errCh <- a.Run(ctx) }()
	if *virtioPort != "" {
		path := filepath.Join("/dev/virtio-ports", *virtioPort)
		logrus.Infof("talking to the host on %s", path)
		go func() {
			errCh <- a.ServePort(ctx, func() (io.ReadWriteCloser, error) { return os.OpenFile(path, os.O_RDWR, 0) })
		}()
	}
	if *virtioPort != "" && *tunnelPort != "" {
		// The tunnel is optional (a QEMU started by an older limactl has no such port): it never
		// ends the daemon.
		path := filepath.Join("/dev/virtio-ports", *tunnelPort)
		go func() {
			_ = guestagent.ServeTunnel(ctx, func() (io.ReadWriteCloser, error) { return os.OpenFile(path, os.O_RDWR, 0) })
		}()
	}
	if *vsockPort != 0 {
		go func() {
			err := a.ServeVsock(ctx, uint32(*vsockPort))
			if *virtioPort != "" && ctx.Err() == nil {
				// The virtio-serial port still works: keep serving it.
				logrus.WithError(err).Warn("vsock is unavailable; using only the virtio-serial port")
				return
			}
			errCh <- err
		}()
	}
	err := <-errCh
	select {
	case <-ctx.Done():
		return nil // asked to stop: the listeners' errors are the shutdown's
	default:
		return err
	}
}
