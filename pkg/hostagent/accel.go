package hostagent

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// LifeTimeout bounds how long a guest under a hardware accelerator that can fail silently (KVM chosen
// by the probe, driver.AccelFallback) may show no sign of life before the host agent gives up on the
// accelerator and restarts the guest under emulation. A sign of life is a line on the serial console
// that only a running OS prints (Console.OSRunning) or an SSH banner. Under a working KVM a Linux
// kernel prints within a second or two, and even a kernel booted with `quiet` has sshd answering in
// 5-20 s; 40 s leaves room for a busy host without making a hung one wait long. The wait costs
// nothing where it is not needed: it ends at the first sign of life, and emulated guests skip it.
const LifeTimeout = 40 * time.Second

// lifePoll is how often the SSH port is tried for a banner while waiting for a sign of life.
const lifePoll = 500 * time.Millisecond

// launch starts the guest and follows its console. When the driver runs it under an accelerator it
// may fall back from, launch waits (at most LifeTimeout) for a sign of life and, without one, kills
// the guest, records the verdict (so later starts emulate at once) and starts it again under
// emulation, with one warning. A signal or the hypervisor's end during the wait are left for the
// caller to handle: the signal is put back on sigCh, the exit value on the returned channel.
func (a *agent) launch(ctx context.Context, ew *events.Writer, sigCh chan os.Signal) (<-chan error, error) {
	errCh, err := a.startAndFollow(ctx)
	if err != nil {
		return nil, err
	}
	fb, ok := a.drv.(driver.AccelFallback)
	if !ok {
		return errCh, nil
	}
	accel, canFallBack := fb.Accelerator()
	_ = ew.Update(func(s *events.Status) { s.Accelerator = accel })
	if !canFallBack {
		return errCh, nil
	}
	bound := LifeTimeout
	if d := envknob.LimactlTestSilentAccel.Duration(); d > 0 {
		bound = d
	}
	since := time.Now()
	_ = ew.Update(func(s *events.Status) {
		s.Progress = &events.Progress{Step: "boot", Description: "Waiting for the guest to show a sign of life under " + strings.ToUpper(accel), Since: since.UTC()}
	})
	switch outcome, exit := a.awaitLife(ctx, errCh, sigCh, bound); outcome {
	case lifeSeen:
		logrus.Debugf("the guest showed a sign of life under %s after %s", accel, time.Since(since).Round(time.Millisecond))
		return errCh, nil
	case lifeInterrupted:
		// Asked to stop before the guest showed any life: there is nothing to shut down gracefully
		// (a guest with stopped vCPUs ignores the power button), so end it at once.
		_ = a.drv.Kill(context.WithoutCancel(ctx))
		return errCh, nil
	case lifeEnded:
		return exit, nil
	}

	reason := fmt.Sprintf("a guest under %s showed no sign of life (no console output from its OS, no SSH banner) within %s",
		strings.ToUpper(accel), bound)
	if err := a.drv.Kill(ctx); err != nil {
		return nil, fmt.Errorf("%s, and it could not be stopped to retry under emulation: %w", reason, err)
	}
	select {
	case werr := <-errCh:
		logrus.WithError(werr).Debug("the silent launch ended")
	case <-time.After(10 * time.Second):
	}
	a.stopConsole()
	record, rerr := fb.DisableAccelerator(reason)
	undo := "delete " + record + " to test it again"
	if rerr != nil {
		logrus.WithError(rerr).Debug("cannot record the accelerator's verdict")
		undo = "the next start will test it again"
	}
	logrus.Warnf("%s; restarting it under TCG (slow), and starts on this host in the next 24 hours use TCG too (%s). Set %s=%s to insist on %s, or %s=tcg to skip this wait",
		capitalize(reason), undo, envknob.LimaQEMUAccel.Name, accel, strings.ToUpper(accel), envknob.LimaQEMUAccel.Name)
	errCh, err = a.startAndFollow(ctx)
	if err != nil {
		return nil, fmt.Errorf("restarting the guest under emulation: %w", err)
	}
	accel, _ = fb.Accelerator()
	_ = ew.Update(func(s *events.Status) {
		s.Accelerator = accel
		s.Progress = &events.Progress{Step: "boot", Description: "Waiting for the guest to show a sign of life under " + strings.ToUpper(accel), Since: since.UTC(), Done: true}
	})
	return errCh, nil
}

// startAndFollow starts the hypervisor and a new console follower (the driver recreates serial.log).
func (a *agent) startAndFollow(ctx context.Context) (<-chan error, error) {
	errCh, err := a.drv.Start(ctx)
	if err != nil {
		return nil, err
	}
	cctx, cancel := context.WithCancel(ctx)
	a.console = NewConsole(filepath.Join(a.inst.Dir, filenames.SerialLog))
	a.stopConsole = cancel
	go a.console.Follow(cctx)
	return errCh, nil
}

type lifeOutcome int

const (
	lifeSeen        lifeOutcome = iota
	lifeTimedOut                // no sign of life within the bound
	lifeInterrupted             // a signal (put back on sigCh) or ctx
	lifeEnded                   // the hypervisor ended; its value is on the returned channel
)

// awaitLife waits for a sign of life from the guest for at most bound.
func (a *agent) awaitLife(ctx context.Context, errCh <-chan error, sigCh chan os.Signal, bound time.Duration) (lifeOutcome, <-chan error) {
	deadline := time.NewTimer(bound)
	defer deadline.Stop()
	tick := time.NewTicker(lifePoll)
	defer tick.Stop()
	for {
		if a.console.OSRunning() || sshBanner(ctx, a.sshPort) {
			return lifeSeen, nil
		}
		select {
		case <-ctx.Done():
			return lifeInterrupted, nil
		case sig := <-sigCh:
			select {
			case sigCh <- sig:
			default:
			}
			return lifeInterrupted, nil
		case v, ok := <-errCh:
			ended := make(chan error, 1)
			if ok {
				ended <- v
			}
			close(ended)
			return lifeEnded, ended
		case <-deadline.C:
			if a.console.OSRunning() {
				return lifeSeen, nil
			}
			return lifeTimedOut, nil
		case <-a.console.Wake():
		case <-tick.C:
		}
	}
}

// sshBanner reports whether an SSH server answers on 127.0.0.1:port. QEMU's user-mode network
// accepts the connection itself, so only the banner proves the guest runs.
func sshBanner(ctx context.Context, port int) bool {
	if port == 0 {
		return false
	}
	d := net.Dialer{Timeout: time.Second}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 4)
	n := 0
	for n < len(buf) {
		m, err := c.Read(buf[n:])
		n += m
		if err != nil {
			break
		}
	}
	return string(buf[:n]) == "SSH-"
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
