package hostagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Options configure Run.
type Options struct {
	PIDFile    string    // default <instDir>/ha.pid
	SocketPath string    // default <instDir>/ha.sock
	Events     io.Writer // where the JSON events go; default os.Stdout
	// Signals end the host agent (stop the guest and exit); default SIGINT and SIGTERM.
	Signals []os.Signal
	// Progress writes the guest's cloud-init output as cloudInitProgress events until the guest
	// is ready (`limactl start --progress`; progress.go).
	Progress bool
}

// Run is `limactl hostagent NAME`: it starts instance name's guest and serves it until a signal
// (SIGINT, SIGTERM) or the hypervisor's end. It returns nil after a requested stop, and the
// hypervisor's error when the guest died on its own.
func Run(ctx context.Context, name string, opts Options) error {
	inst, err := store.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if inst.Config == nil {
		return fmt.Errorf("instance %q cannot be started: %w", name, errors.Join(inst.Errors...))
	}
	if opts.PIDFile == "" {
		opts.PIDFile = filepath.Join(inst.Dir, filenames.HostAgentPID)
	}
	if opts.SocketPath == "" {
		opts.SocketPath = filepath.Join(inst.Dir, filenames.HostAgentSock)
	}
	if opts.Events == nil {
		opts.Events = os.Stdout
	}
	if len(opts.Signals) == 0 {
		opts.Signals = []os.Signal{os.Interrupt, syscall.SIGTERM}
	}
	sigCh := make(chan os.Signal, 1)
	signal.Notify(sigCh, opts.Signals...)
	defer signal.Stop(sigCh)

	if err := writePIDFile(opts.PIDFile); err != nil {
		return err
	}
	defer os.Remove(opts.PIDFile)
	ew := events.NewWriter(opts.Events)

	ha, err := prepare(ctx, inst)
	if err != nil {
		emitExit(ew, err)
		return err
	}
	defer ha.closeDNS() // the guest's DNS server (hostResolver) ends with the host agent
	closeAPI, err := serveAPI(opts.SocketPath, Info{SSHLocalPort: ha.sshPort})
	if err != nil {
		err = fmt.Errorf("cannot serve %s: %w", opts.SocketPath, err)
		emitExit(ew, err)
		return err
	}
	defer closeAPI()
	_ = ew.Update(func(s *events.Status) { s.SSHLocalPort = ha.sshPort })

	errCh, err := ha.launch(ctx, ew, sigCh) // accel.go: falls back to emulation from a silent accelerator
	if err != nil {
		err = fmt.Errorf("cannot start the guest: %w", err)
		emitExit(ew, err)
		return err
	}
	defer func() { ha.stopConsole() }()
	logrus.Infof("guest started (%s); SSH on 127.0.0.1:%d", inst.VMType, ha.sshPort)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	go ha.startPortForwarding(runCtx, ew) // port forwarding: pkg/hostagent/portfwd.go
	userReady, muxUp := make(chan struct{}), make(chan struct{})
	ha.userSessionReady = sync.OnceFunc(func() { close(userReady) })
	ha.muxUp = muxUp
	muxDone := ha.startSSHMux(runCtx, userReady, muxUp) // shared SSH connection for clients: sshmux.go
	readyDone := make(chan struct{})
	go func() {
		defer close(readyDone)
		ha.waitReady(runCtx, ew)
	}()
	defer func() {
		cancel()
		select { // the mux removes its socket; never let it hold up the exit for long
		case <-muxDone:
		case <-time.After(5 * time.Second):
		}
	}()
	if opts.Progress {
		progressCtx, progressCancel := context.WithCancel(runCtx)
		go func() { <-readyDone; progressCancel() }()
		go ha.followCloudInit(progressCtx, ew)
	}

	select {
	case sig := <-sigCh:
		logrus.Infof("received %v: stopping the guest", sig)
		ha.unmountReverseSSHFS() // while the guest still runs, so the unmount is orderly
		cancel()
		<-readyDone
		ha.closeSSH()
		stopCtx, stopCancel := context.WithTimeout(context.Background(), ha.cfg.StopTimeoutOrDefault()+30*time.Second)
		defer stopCancel()
		serr := ha.drv.Stop(stopCtx)
		if serr != nil {
			logrus.WithError(serr).Warn("the driver did not stop cleanly; killing the guest")
			_ = ha.drv.Kill(context.Background())
		}
		// Wait for the hypervisor's exit value, so nothing of the guest outlives the host agent.
		select {
		case werr := <-errCh:
			if werr != nil {
				logrus.WithError(werr).Debug("the hypervisor's exit after stop")
			}
		case <-time.After(10 * time.Second):
		}
		ha.deleteCopiedFiles()
		emitExit(ew, serr)
		return nil
	case derr := <-errCh:
		cancel()
		<-readyDone
		ha.closeSSH()
		if derr != nil {
			logrus.WithError(derr).Error("the guest's hypervisor ended")
		} else {
			logrus.Info("the guest powered off")
		}
		ha.deleteCopiedFiles()
		emitExit(ew, derr)
		return derr
	}
}

func emitExit(ew *events.Writer, err error) {
	_ = ew.Update(func(s *events.Status) {
		s.Exiting = true
		s.Running = false
		if err != nil {
			s.Errors = append(s.Errors, err.Error())
		}
	})
}

// writePIDFile writes our pid to path, refusing when a live process already owns it.
func writePIDFile(path string) error {
	if pid, err := store.ReadPIDFile(path); err != nil {
		return err
	} else if pid != 0 && pid != os.Getpid() {
		return fmt.Errorf("another host agent (pid %d, %s) runs this instance; stop it with `limactl stop`", pid, path)
	}
	_ = os.Remove(path)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("cannot write the pid file: %w", err)
	}
	_, err = f.WriteString(strconv.Itoa(os.Getpid()) + "\n")
	return errors.Join(err, f.Close())
}
