package qemu

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// ConsoleSilence is how long Start's watchdog waits for the first byte on the serial console before it
// warns that the guest seems stuck before its kernel.
var ConsoleSilence = 90 * time.Second

// launchTimeout bounds the wait for QEMU's pid file and QMP socket.
const launchTimeout = time.Minute

// Start implements driver.Driver. It probes the accelerator (cached), plans, creates the plan's
// directories, links and files, starts virtiofsd processes, then QEMU in its own process group with its
// output in qemu.log, and returns once QEMU's pid file and QMP socket exist. On Linux QEMU also gets
// SIGTERM when the process that started it dies (see withParentDeathSignal), so a host agent killed
// with -9 leaves no guest behind.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	if d.runningPID() != 0 {
		return nil, fmt.Errorf("instance %q is already running: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	d.cleanup()
	host, err := GatherHostFacts(ctx, d.guestArch(), true)
	if err != nil {
		return nil, err
	}
	if host.AccelWarning != "" && !d.fellBack { // after a fallback the host agent has said it already
		logrus.Warn(host.AccelWarning)
	}
	if host.DiskFormats, err = d.lockDisks(ctx); err != nil { // disks.go; cleanup unlocks
		return nil, err
	}
	releaseNets, err := d.acquireUsernets(ctx, &host) // usernet.go
	if err != nil {
		d.unlockDisks()
		return nil, err
	}
	// unlock undoes both: the disk locks and the attachment to user-v2 networks.
	unlock := func() { d.unlockDisks(); releaseNets() }
	if d.ringFile == nil && host.Ivshmem {
		if f, mem, err := newTunnelRing(); err == nil {
			d.ringFile, d.ring = f, mem
		} else if !errors.Is(err, errors.ErrUnsupported) {
			logrus.WithError(err).Debug("no shared memory for the guest agent's tunnel; it uses its port both ways")
		}
	}
	host.TunnelRing = d.ringFile != nil
	plan, err := MakePlan(d.cfg, host)
	if err != nil {
		unlock()
		return nil, err
	}
	forced := strings.TrimSpace(envknob.LimaQEMUAccel.Get()) != ""
	d.launched = launch{binary: host.QEMUBinary, accel: host.Accel, forced: forced, silent: d.silentAccelKnob(forced)}
	d.ringOn.Store(host.TunnelRing)
	if d.launched.silent {
		plan.Args = append(plan.Args, "-S") // test knob: the vCPUs never run (fallback.go)
	}
	logrus.Debugf("qemu plan for %q:\n%s", d.cfg.Name, plan)
	if err := d.prepare(plan); err != nil {
		unlock()
		return nil, err
	}
	logf, err := os.OpenFile(d.path(LogFile), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		unlock()
		return nil, err
	}
	defer logf.Close() // the children hold their own copies

	var helpers []func() // each kills one helper process and waits for its end
	killHelpers := func() {
		for _, stop := range helpers {
			stop()
		}
		unlock()
	}
	launchCtx, cancel := context.WithTimeout(ctx, launchTimeout)
	defer cancel()
	for _, v := range plan.Virtiofsd {
		stop, err := startVirtiofsd(launchCtx, v, logf, d.path(LogFile)) // virtiofsd.go
		if err != nil {
			killHelpers()
			return nil, err
		}
		helpers = append(helpers, stop)
	}

	cmd := exec.Command(plan.Binary, plan.Args...)
	cmd.Dir = d.cfg.InstanceDir
	cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = logf, logf, detached()
	if host.TunnelRing {
		cmd.ExtraFiles = []*os.File{d.ringFile} // fd 3 (tunnelRingFD)
	}
	if err := cmd.Start(); err != nil {
		killHelpers()
		return nil, fmt.Errorf("starting %s: %w", plan.Binary, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	var waitErr error
	go func() { waitErr = cmd.Wait(); close(exited) }()

	launchErr := waitForSocket(launchCtx, plan.Sockets.QMP, exited)
	if launchErr == nil {
		launchErr = waitForFile(launchCtx, plan.PIDFile)
	}
	if launchErr != nil {
		_ = cmd.Process.Kill()
		<-exited
		killHelpers()
		d.cleanup()
		return nil, fmt.Errorf("QEMU did not start: %w%s", launchErr, d.logTail())
	}

	errCh := make(chan error, 1)
	go func() {
		<-exited
		killHelpers()
		res := d.exitResult(pid, waitErr)
		errCh <- res
		close(errCh)
	}()
	go d.watchConsole(exited)
	return errCh, nil
}

// prepare checks the plan's required files and creates its directories, links and files.
func (d *Driver) prepare(plan *Plan) error {
	for _, r := range plan.Requires {
		if _, err := os.Stat(r.Path); err != nil {
			return fmt.Errorf("%s is missing; %s makes it: %w", r.Path, r.MadeBy, driver.ErrNotFound)
		}
	}
	for _, dir := range plan.Dirs {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return err
		}
	}
	for _, dir := range plan.MountDirs {
		_, statErr := os.Stat(dir)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("cannot create the host folder %s of a mount: %w", dir, err)
		}
		if errors.Is(statErr, fs.ErrNotExist) {
			d.giveToGuestUser(dir)
		}
	}
	for _, l := range plan.Symlinks {
		_ = os.Remove(l.Link)
		if err := os.Symlink(l.Target, l.Link); err != nil {
			return err
		}
	}
	for _, f := range plan.Files {
		if err := os.WriteFile(f.Path, f.Content, 0o644); err != nil {
			return err
		}
	}
	return nil
}

// exitResult turns QEMU's exit into the Start channel's value, and removes its pid file if no newer
// QEMU has replaced it.
func (d *Driver) exitResult(pid int, waitErr error) error {
	pidFile := d.path(filenames.PIDFile(Name))
	if b, err := os.ReadFile(pidFile); err == nil && strings.TrimSpace(string(b)) == strconv.Itoa(pid) {
		_ = os.Remove(pidFile)
	}
	marker := d.path(stopMarker(pid))
	if _, err := os.Stat(marker); err == nil {
		_ = os.Remove(marker)
		return nil
	}
	if waitErr == nil {
		return nil // the guest powered off
	}
	return fmt.Errorf("QEMU exited unexpectedly (%w)%s", waitErr, d.logTail())
}

// logTail returns the last lines of qemu.log, formatted to end an error message.
func (d *Driver) logTail() string {
	b, err := os.ReadFile(d.path(LogFile))
	if err != nil || len(strings.TrimSpace(string(b))) == 0 {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return "; " + d.path(LogFile) + " ends with:\n" + strings.Join(lines, "\n")
}

// watchConsole warns once when the guest has written nothing to its serial console for
// ConsoleSilence after QEMU started: then it is stuck in firmware or the boot loader, and the host
// agent's wait for SSH would otherwise only end in a timeout.
func (d *Driver) watchConsole(exited <-chan struct{}) {
	t := time.NewTimer(ConsoleSilence)
	defer t.Stop()
	select {
	case <-exited:
	case <-t.C:
		if st, err := os.Stat(d.path(filenames.SerialLog)); err == nil && st.Size() == 0 {
			logrus.Warnf("instance %q: the guest has printed nothing on its serial console (%s) in %v since QEMU started; if it never becomes ready, it is probably stuck in firmware or the boot loader (QEMU's own messages: %s)",
				d.cfg.Name, d.path(filenames.SerialLog), ConsoleSilence, d.path(LogFile))
		}
	}
}

// waitForFile waits until path exists or ctx ends, polling with a short, growing interval.
func waitForFile(ctx context.Context, path string) error {
	delay := 5 * time.Millisecond
	for {
		if _, err := os.Stat(path); err == nil {
			return nil
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// giveToGuestUser makes a mount folder limactl has just created belong to the guest user when
// limactl runs as root. 9p and virtiofs show host ownership in the guest, so a root-owned 0755
// folder would be read-only there for the guest user (uid 1000 when the host user is root); a
// non-root user's new folder is theirs, and the guest user has their uid.
func (d *Driver) giveToGuestUser(dir string) {
	if os.Geteuid() != 0 || d.cfg.Config == nil || d.cfg.Config.User.UID == nil || *d.cfg.Config.User.UID == 0 {
		return
	}
	uid := int(*d.cfg.Config.User.UID)
	if err := os.Chown(dir, uid, -1); err != nil {
		logrus.Warnf("cannot give the new mount folder %s to the guest user (uid %d): %v", dir, uid, err)
	}
}
