package vz

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// DefaultStopTimeout is how long Stop waits for the guest to power off after RequestStop before it
// stops the VM by force, when Config.StopTimeout is zero. It is vz's own default (30 s, as Lima's vz
// driver waits), shorter than driver.DefaultStopTimeout: RequestStop either reaches the guest at once
// or not at all.
const DefaultStopTimeout = 30 * time.Second

// killWait bounds the wait for the VM (or the host agent holding it) to be gone after a forced stop.
const killWait = 10 * time.Second

// run is a VM living in this process.
type run struct {
	m    Machine
	done chan struct{}
	fwd  net.Listener

	mu       sync.Mutex
	intended bool // Stop or Kill asked for the end
}

func (r *run) markIntended() {
	r.mu.Lock()
	r.intended = true
	r.mu.Unlock()
}

// runs holds the VMs of this process, by instance directory. Another process sees them through vz.pid.
var (
	runsMu sync.Mutex
	runs   = map[string]*run{}
)

func (d *Driver) key() string {
	if abs, err := filepath.Abs(d.cfg.InstanceDir); err == nil {
		return abs
	}
	return d.cfg.InstanceDir
}

func (d *Driver) localRun() *run {
	runsMu.Lock()
	defer runsMu.Unlock()
	return runs[d.key()]
}

func (d *Driver) stopTimeout() time.Duration {
	if d.cfg.StopTimeout > 0 {
		return d.cfg.StopTimeout
	}
	return DefaultStopTimeout
}

func (d *Driver) pidFile() string { return d.path(filenames.PIDFile(Name)) }

// readPID returns the pid in vz.pid, or 0.
func (d *Driver) readPID() int {
	b, err := os.ReadFile(d.pidFile())
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// owner tells where the VM runs: in this process (r set), in another live process (pid set), or
// nowhere (both zero). A stale vz.pid (a dead process, or a pid reused by an unrelated one: see
// store.CheckPIDFile) is removed.
func (d *Driver) owner() (r *run, pid int) {
	pid = d.readPID()
	switch {
	case pid == 0:
	case pid == os.Getpid():
		if r = d.localRun(); r != nil {
			return r, 0
		}
	default:
		if f, err := store.CheckPIDFile(d.pidFile(), nil); err == nil && f.PID == pid {
			return nil, pid
		}
	}
	if pid != 0 || exists(d.pidFile()) {
		_ = os.Remove(d.pidFile())
	}
	return nil, 0
}

// Status implements driver.Driver: Running while vz.pid names this process with a live VM, or another
// live process (the host agent holding the VM).
func (d *Driver) Status(ctx context.Context) (driver.Status, error) {
	if r, pid := d.owner(); r != nil || pid != 0 {
		return driver.StatusRunning, nil
	}
	return driver.StatusStopped, nil
}

// Start implements driver.Driver: it plans, builds the machine, starts it, waits for the Running state
// and writes vz.pid with this process's pid. The VM lives in this process until it stops.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("vz: start: %w", err)
	}
	if r, pid := d.owner(); r != nil || pid != 0 {
		return nil, fmt.Errorf("instance %q is already running: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	spec, err := d.Plan()
	if err != nil {
		return nil, err
	}
	for _, n := range spec.Notes {
		logrus.Debugf("vz plan for %q: %s", d.cfg.Name, n)
	}
	for _, req := range spec.Requires {
		if !exists(req.Path) {
			return nil, fmt.Errorf("%s is missing; %s makes it: %w", req.Path, req.MadeBy, driver.ErrNotFound)
		}
	}
	if err := d.lockDisks(ctx); err != nil { // disks.go; finish unlocks
		return nil, err
	}
	m, err := d.hypervisor().NewMachine(spec)
	if err != nil {
		d.unlockDisks()
		return nil, fmt.Errorf("vz: configuring the virtual machine: %w", err)
	}
	changes := m.StateChanged()
	if err := m.Start(); err != nil {
		d.unlockDisks()
		return nil, fmt.Errorf("vz: starting the virtual machine (see %s): %w", spec.Console.LogPath, err)
	}
	if err := waitRunning(ctx, m, changes); err != nil {
		_ = m.Stop()
		d.unlockDisks()
		return nil, fmt.Errorf("vz: the virtual machine did not reach Running (see %s): %w", spec.Console.LogPath, err)
	}

	r := &run{m: m, done: make(chan struct{})}
	if f := spec.SSHForward; f != nil {
		ln, err := forwardToVsock(f.HostAddress, m, f.VsockPort)
		if err != nil {
			_ = m.Stop()
			d.unlockDisks()
			return nil, fmt.Errorf("vz: forwarding %s to the guest's sshd: %w", f.HostAddress, err)
		}
		r.fwd = ln
	}
	runsMu.Lock()
	runs[d.key()] = r
	runsMu.Unlock()
	if err := atomicfile.WriteFile(d.pidFile(), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		r.markIntended()
		_ = m.Stop()
		d.finish(r)
		return nil, fmt.Errorf("vz: writing %s: %w", d.pidFile(), err)
	}

	errCh := make(chan error, 1)
	go func() {
		last := m.State()
		for st := range changes {
			last = st
			if st == StateStopped || st == StateError {
				break
			}
		}
		d.finish(r)
		r.mu.Lock()
		intended := r.intended
		r.mu.Unlock()
		if last == StateError && !intended {
			errCh <- fmt.Errorf("vz: the virtual machine of %q stopped with an error; see %s", d.cfg.Name, spec.Console.LogPath)
		} else {
			errCh <- nil // stopped by us, or the guest powered off
		}
		close(errCh)
	}()
	return errCh, nil
}

// waitRunning waits for the Running state.
func waitRunning(ctx context.Context, m Machine, changes <-chan MachineState) error {
	if m.State() == StateRunning {
		return nil
	}
	for {
		select {
		case st, ok := <-changes:
			if !ok {
				return errors.New("the state channel closed")
			}
			switch st {
			case StateRunning:
				return nil
			case StateStopped, StateError:
				return fmt.Errorf("state %s", st)
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// finish forgets a VM that has ended: its entry, vz.pid (if it still names this process) and the
// SSH forwarder.
func (d *Driver) finish(r *run) {
	runsMu.Lock()
	if runs[d.key()] == r {
		delete(runs, d.key())
	}
	runsMu.Unlock()
	if d.readPID() == os.Getpid() {
		_ = os.Remove(d.pidFile())
	}
	if r.fwd != nil {
		_ = r.fwd.Close()
	}
	d.unlockDisks()
	select {
	case <-r.done:
	default:
		close(r.done)
	}
}

// Stop implements driver.Driver. In the process that holds the VM: RequestStop (the guest's power
// button), a bounded wait, then a forced Stop. From another process: SIGINT to the host agent named by
// vz.pid, which does the same, a bounded wait, then SIGKILL.
func (d *Driver) Stop(ctx context.Context) error {
	r, pid := d.owner()
	switch {
	case r != nil:
		r.markIntended()
		ok, err := r.m.RequestStop()
		if err != nil || !ok {
			logrus.Warnf("instance %q: could not ask the guest to power off (%v); stopping the VM by force", d.cfg.Name, err)
			return d.forceLocal(r)
		}
		if d.waitDone(ctx, r, d.stopTimeout()) {
			return nil
		}
		if ctx.Err() == nil {
			logrus.Warnf("instance %q: the guest did not power off within %v; stopping the VM by force", d.cfg.Name, d.stopTimeout())
		}
		return d.forceLocal(r)
	case pid != 0:
		if err := store.ConfirmPID(d.pidFile(), pid, nil); err != nil {
			return fmt.Errorf("vz: instance %q: not signalling the host agent: %w", d.cfg.Name, err)
		}
		if err := osutil.InterruptProcess(pid); err != nil {
			logrus.Warnf("instance %q: could not signal the host agent (pid %d): %v; killing it", d.cfg.Name, pid, err)
			return d.killRemote(pid)
		}
		// The host agent waits up to its own stop timeout for the guest, then forces: allow for that.
		if d.waitRemoteGone(ctx, pid, d.stopTimeout()+killWait) {
			return nil
		}
		logrus.Warnf("instance %q: the host agent (pid %d) did not stop the VM in time; killing it", d.cfg.Name, pid)
		return d.killRemote(pid)
	}
	return nil
}

// Kill implements driver.Driver: a forced Stop of the VM in this process, or SIGKILL to the host agent
// holding it.
func (d *Driver) Kill(ctx context.Context) error {
	r, pid := d.owner()
	switch {
	case r != nil:
		r.markIntended()
		return d.forceLocal(r)
	case pid != 0:
		return d.killRemote(pid)
	}
	return nil
}

func (d *Driver) forceLocal(r *run) error {
	if err := r.m.Stop(); err != nil && r.m.State() != StateStopped {
		return fmt.Errorf("vz: stopping the virtual machine of %q: %w", d.cfg.Name, err)
	}
	if !d.waitDone(context.Background(), r, killWait) {
		return fmt.Errorf("vz: the virtual machine of %q is still running %v after a forced stop", d.cfg.Name, killWait)
	}
	return nil
}

func (d *Driver) waitDone(ctx context.Context, r *run, timeout time.Duration) bool {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-r.done:
		return true
	case <-ctx.Done():
	case <-t.C:
	}
	select {
	case <-r.done:
		return true
	default:
		return false
	}
}

func (d *Driver) killRemote(pid int) error {
	if err := store.ConfirmPID(d.pidFile(), pid, nil); err != nil {
		return fmt.Errorf("vz: instance %q: not killing the host agent: %w", d.cfg.Name, err)
	}
	if err := osutil.KillProcess(pid); err != nil {
		return fmt.Errorf("vz: killing the host agent (pid %d) of %q: %w", pid, d.cfg.Name, err)
	}
	if !d.waitRemoteGone(context.Background(), pid, killWait) {
		return fmt.Errorf("vz: the host agent (pid %d) of %q is still running %v after SIGKILL", pid, d.cfg.Name, killWait)
	}
	_ = os.Remove(d.pidFile())
	return nil
}

// waitRemoteGone waits until pid has exited or vz.pid no longer names it, polling with a growing
// interval (we are not its parent).
func (d *Driver) waitRemoteGone(ctx context.Context, pid int, timeout time.Duration) bool {
	gone := func() bool { return !osutil.ProcessAlive(pid) || d.readPID() != pid }
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	delay := 10 * time.Millisecond
	for !gone() {
		select {
		case <-ctx.Done():
			return gone()
		case <-deadline.C:
			return gone()
		case <-time.After(delay):
		}
		if delay < 500*time.Millisecond {
			delay *= 2
		}
	}
	return true
}

// GuestAgentConn implements driver.Driver: a vsock connection to the guest agent's port. Only the
// process holding the VM (the host agent) can open one.
func (d *Driver) GuestAgentConn(ctx context.Context) (net.Conn, error) {
	r, pid := d.owner()
	switch {
	case r != nil:
		conn, err := r.m.ConnectVsock(GuestAgentVsockPort)
		if err != nil {
			return nil, fmt.Errorf("vz: connecting to the guest agent on vsock port %d: %w", GuestAgentVsockPort, err)
		}
		return conn, nil
	case pid != 0:
		return nil, fmt.Errorf("vz: the VM of %q lives in the host agent (pid %d), and only that process reaches its vsock; ask the host agent: %w",
			d.cfg.Name, pid, driver.ErrUnsupported)
	}
	return nil, fmt.Errorf("instance %q is not running: %w", d.cfg.Name, driver.ErrNotRunning)
}

// GuestAgentTunnelConn implements driver.Driver: vz has no tunnel channel yet (a second vsock port
// would be one), so forwarded ports go over SSH.
func (d *Driver) GuestAgentTunnelConn(context.Context) (net.Conn, error) {
	return nil, fmt.Errorf("vz: no guest-agent tunnel yet; ports are forwarded over SSH: %w", driver.ErrUnsupported)
}

// CreateDisk and Delete are in disk.go; the rest of the lifecycle is here.

// Delete implements driver.Driver: it removes the disk, the machine identifier, the EFI variable
// store, the console log and vz.pid. The downloaded image, kernel and initrd are the downloader's.
func (d *Driver) Delete(ctx context.Context) error {
	if r, pid := d.owner(); r != nil || pid != 0 {
		return fmt.Errorf("instance %q is running; stop it before deleting it: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	return d.removeFiles(filenames.Disk, filenames.Disk+".tmp", filenames.VZIdentifier, filenames.VZIdentifier+".tmp",
		filenames.VZEfi, filenames.SerialVirtLog, filenames.PIDFile(limayaml.VZ), filenames.PIDFile(limayaml.VZ)+".tmp")
}
