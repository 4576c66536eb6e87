package qemu

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// killWait bounds the wait for QEMU to disappear after SIGKILL.
const killWait = 10 * time.Second

// Stop implements driver.Driver: ACPI power button through QMP, a bounded wait, then SIGKILL. When QMP
// does not answer, QEMU is killed at once.
func (d *Driver) Stop(ctx context.Context) error {
	pid, err := d.signallablePID()
	if err != nil || pid == 0 {
		return err
	}
	d.markStopping(pid)
	socks, _, _, err := d.sockets()
	if err == nil {
		err = d.powerdown(ctx, socks.QMP)
	}
	if err != nil {
		logrus.Warnf("instance %q: could not ask the guest to power off (%v); killing QEMU", d.cfg.Name, err)
		return d.kill(pid)
	}
	timeout := d.cfg.StopTimeoutOrDefault()
	if waitGone(ctx, pid, timeout) {
		d.cleanup()
		return nil
	}
	if ctx.Err() == nil {
		logrus.Warnf("instance %q: the guest did not power off within %v; killing QEMU", d.cfg.Name, timeout)
	}
	return d.kill(pid)
}

func (d *Driver) powerdown(ctx context.Context, qmpSock string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	q, err := DialQMP(ctx, qmpSock)
	if err != nil {
		return err
	}
	defer q.Close()
	return q.Powerdown(ctx)
}

// Kill implements driver.Driver.
func (d *Driver) Kill(ctx context.Context) error {
	pid, err := d.signallablePID()
	if err != nil || pid == 0 {
		return err
	}
	d.markStopping(pid)
	return d.kill(pid)
}

// signallablePID returns the pid of this instance's QEMU for Stop and Kill: 0 (after removing what a
// past run left) when none runs, an error when a live process is named whose identity cannot be
// confirmed (it is never signalled).
func (d *Driver) signallablePID() (int, error) {
	f := d.qemuPID()
	switch {
	case f.PID == 0:
		d.cleanup()
		return 0, nil
	case !f.Confirmed:
		return 0, fmt.Errorf("instance %q: not signalling pid %d from %s: cannot confirm it is QEMU (run with --debug for the reason)",
			d.cfg.Name, f.PID, d.path(filenames.PIDFile(Name)))
	}
	return f.PID, nil
}

func (d *Driver) kill(pid int) error {
	if err := osutil.KillProcess(pid); err != nil {
		return fmt.Errorf("killing QEMU (pid %d): %w", pid, err)
	}
	if !waitGone(context.Background(), pid, killWait) {
		return fmt.Errorf("QEMU (pid %d) is still running %v after SIGKILL", pid, killWait)
	}
	d.cleanup()
	return nil
}

func (d *Driver) markStopping(pid int) {
	_ = os.WriteFile(d.path(stopMarker(pid)), []byte(strconv.Itoa(pid)+"\n"), 0o644)
}

// waitGone waits until pid has exited, for at most timeout or until ctx ends, and reports whether it
// did. We may not be QEMU's parent, so it polls (with a growing interval) instead of waiting.
func waitGone(ctx context.Context, pid int, timeout time.Duration) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	delay := 10 * time.Millisecond
	for osutil.ProcessAlive(pid) {
		select {
		case <-ctx.Done():
			return !osutil.ProcessAlive(pid)
		case <-deadline.C:
			return !osutil.ProcessAlive(pid)
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
	return true
}
