package wsl2

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
)

// Start implements driver.Driver. It starts the keep-alive process (which boots the distro and holds
// it up), waits until wsl.exe lists the distro as Running, then starts the boot script in the
// background (Plan.BootLauncher), its output appended to serial.log. The returned channel reports when the
// keep-alive process ends: nil when the distro stopped with it (Stop, Kill, `wsl --terminate`, a
// guest power-off), an error when the process died and the distro still runs.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	p, err := d.Plan()
	if err != nil {
		return nil, err
	}
	st, registered, err := d.distroState(ctx, p)
	switch {
	case err != nil:
		return nil, err
	case !registered:
		return nil, fmt.Errorf("wsl2: distro %s is not imported (CreateDisk imports it from the root filesystem; run limactl start): %w", p.Distro, driver.ErrNotFound)
	case st == StateRunning:
		return nil, fmt.Errorf("wsl2: distro %s: %w", p.Distro, driver.ErrAlreadyRunning)
	}

	inv := p.KeepAlive()
	logrus.Debugf("wsl2: start %s", inv)
	ka, err := d.opts.Runner.Start(inv, nil)
	if err != nil {
		return nil, fmt.Errorf("wsl2: starting %s: %w", p.Distro, err)
	}
	exited := make(chan struct{})
	var kaRes Result
	var kaErr error
	go func() {
		kaRes, kaErr = ka.Wait()
		close(exited)
	}()
	abort := func(cause error) (<-chan error, error) {
		_ = ka.Kill()
		cleanup, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if _, err := d.run(cleanup, p.Terminate()); err != nil && !errors.Is(err, driver.ErrNotFound) {
			logrus.Warnf("wsl2: terminating %s after a failed start: %v", p.Distro, err)
		}
		<-exited
		return nil, cause
	}

	if err := d.waitState(ctx, p, StateRunning, exited); err != nil {
		if errors.Is(err, errProcessExited) {
			err = fmt.Errorf("wsl2: the keep-alive process of %s exited before the distro ran: %w", p.Distro, keepAliveError(inv, kaRes, kaErr))
		}
		return abort(err)
	}
	if _, err := d.run(ctx, p.Boot()); err != nil {
		return abort(fmt.Errorf("wsl2: launching the boot script in %s: %w", p.Distro, err))
	}

	errCh := make(chan error, 1)
	go func() {
		<-exited
		errCh <- d.endReason(p, inv, kaRes, kaErr)
		close(errCh)
	}()
	return errCh, nil
}

var errProcessExited = errors.New("the process exited")

// waitState polls `--list --verbose` until the distro is in want (an unregistered distro counts as
// Stopped), ctx is done, or exited (may be nil) is closed. The interval grows from 10 ms to 500 ms.
func (d *Driver) waitState(ctx context.Context, p Plan, want State, exited <-chan struct{}) error {
	for delay := 10 * time.Millisecond; ; delay = min(2*delay, 500*time.Millisecond) {
		st, registered, err := d.distroState(ctx, p)
		if err != nil {
			return err
		}
		if !registered {
			st = StateStopped
		}
		if st == want {
			return nil
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("wsl2: waiting for %s to be %s (it is %s): %w", p.Distro, want, st, ctx.Err())
		case <-exited:
			t.Stop()
			return errProcessExited
		case <-t.C:
		}
	}
}

// endReason decides what the Start channel says once the keep-alive process has ended: nil if the
// distro stopped too (allowing wsl.exe a few seconds to list it as stopped), else why it ended.
func (d *Driver) endReason(p Plan, inv Invocation, res Result, runErr error) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := d.waitState(ctx, p, StateStopped, nil); err == nil {
		return nil
	}
	return fmt.Errorf("wsl2: the keep-alive process of %s ended while the distro still runs (stop it with limactl stop): %w",
		p.Distro, keepAliveError(inv, res, runErr))
}

func keepAliveError(inv Invocation, res Result, runErr error) error {
	if runErr != nil {
		return runErr
	}
	if err := CheckResult(inv, res); err != nil {
		return err
	}
	return fmt.Errorf("%s exited with 0", inv)
}

// Stop implements driver.Driver. WSL has no graceful power-off: Stop flushes the guest's file
// systems (bounded by the stop timeout), then terminates this distro, never the others.
func (d *Driver) Stop(ctx context.Context) error { return d.stop(ctx, true) }

// Kill implements driver.Driver: it terminates the distro without flushing first.
func (d *Driver) Kill(ctx context.Context) error { return d.stop(ctx, false) }

func (d *Driver) stop(ctx context.Context, graceful bool) error {
	p, err := d.Plan()
	if err != nil {
		return err
	}
	st, registered, err := d.distroState(ctx, p)
	if err != nil {
		return err
	}
	if !registered || st != StateRunning {
		return nil
	}
	if graceful {
		syncCtx, cancel := context.WithTimeout(ctx, d.cfg.StopTimeoutOrDefault())
		if _, err := d.run(syncCtx, p.Sync()); err != nil {
			logrus.Warnf("wsl2: sync in %s before terminating it: %v", p.Distro, err)
		}
		cancel()
	}
	if _, err := d.run(ctx, p.Terminate()); err != nil && !errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("wsl2: terminating %s: %w", p.Distro, err)
	}
	return d.waitState(ctx, p, StateStopped, nil)
}
