// Command lima-usernet runs one user-v2 network's switch (package serve). `limactl usernet` execs
// it with its flags (Lima's `limactl usernet` flags), keeping the pid that the qemu driver's
// usernet.Daemon waits for; it is its own binary so that only this process links gvisor-tap-vsock's
// netstack. `make install` puts it in <prefix>/libexec/lima; limactl also finds it next to itself.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/logflags"
	"github.com/limactl/limactl/pkg/networks/usernet"
	"github.com/limactl/limactl/pkg/networks/usernet/serve"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return
		}
		logrus.Fatal(err)
	}
}

func run(argv []string) error {
	fs := pflag.NewFlagSet("lima-usernet", pflag.ContinueOnError)
	var f usernet.Flags
	f.AddTo(fs)
	// limactl's logging flags, which `limactl usernet` passes on when they were given.
	debug := fs.Bool("debug", false, "Debug mode")
	level := fs.String("log-level", "", "Set the logging level [trace, debug, info, warn, error]")
	format := fs.String("log-format", "text", "Set the logging format [text, json]")
	if err := fs.Parse(argv); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if err := logflags.Apply(*debug, *level, *format); err != nil {
		return err
	}
	subnet, leases, err := f.Parse()
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return runUsernet(ctx, f.PIDFile, serve.Options{
		Subnet: subnet, MTU: f.MTU, Leases: leases, QEMUSocket: f.QEMUSocket, Endpoint: f.Endpoint,
	})
}

// usernetIdleCheck is how often the usernet process looks for instances still using it.
const usernetIdleCheck = 30 * time.Second

func runUsernet(ctx context.Context, pidFile string, o serve.Options) error {
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
	go func() { serveErr = serve.Serve(ctx, o); close(served) }()
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
