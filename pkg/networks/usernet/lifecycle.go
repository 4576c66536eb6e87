package usernet

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/identifiers"
	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/networks"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store"
)

// Daemon is one user-v2 network's usernet process and its users. Every method runs under the lock
// file usernet.lock in Dir, so concurrent starts and stops of instances on the network (from
// several host agents) see a consistent state.
//
// The users are the files users/INSTANCE, each holding the pid of the process (the instance's host
// agent) that attached the instance; a file naming a dead process no longer counts. The process is
// started when the first user comes, and stopped when the last one goes.
type Daemon struct {
	Name   string           // network name in networks.yaml
	Dir    string           // $LIMA_HOME/_networks/NAME
	Config networks.Network // the networks.yaml entry
	// Command makes the usernet process from its arguments; by default this executable with them
	// (`limactl usernet ...`, which execs lima-usernet).
	Command func(args []string) (*exec.Cmd, error)
	// StartTimeout bounds the wait for the process's sockets (default 30s).
	StartTimeout time.Duration
	// StopTimeout bounds the wait for the process to end after SIGINT, before SIGKILL (default 5s).
	StopTimeout time.Duration
}

// ErrNotUserV2 is NewDaemon's error for a name networks.yaml does not define as a user-v2 network.
var ErrNotUserV2 = errors.New("not a user-v2 network")

// NewDaemon looks the network name up in networks.yaml: it must be a user-v2 network.
func NewDaemon(name string) (*Daemon, error) {
	if err := identifiers.Validate(name); err != nil {
		return nil, fmt.Errorf("network name %q: %w", name, err)
	}
	cfg, err := networks.LoadConfig()
	if err != nil {
		return nil, err
	}
	nw, ok := cfg.Networks[name]
	if !ok {
		return nil, fmt.Errorf("network %q is not defined in networks.yaml: %w", name, ErrNotUserV2)
	}
	if nw.Mode != networks.ModeUserV2 {
		return nil, fmt.Errorf("network %q has mode %s: %w", name, nw.Mode, ErrNotUserV2)
	}
	dir, err := Dir(name)
	if err != nil {
		return nil, err
	}
	return &Daemon{Name: name, Dir: dir, Config: nw}, nil
}

// QEMUSocket is where QEMU connects.
func (d *Daemon) QEMUSocket() (string, error) { return SockIn(d.Dir, d.Name, QEMUSock) }

// EndpointSocket is the HTTP API.
func (d *Daemon) EndpointSocket() (string, error) { return SockIn(d.Dir, d.Name, EndpointSock) }

// PIDFile is the usernet process's pid file.
func (d *Daemon) PIDFile() string { return PIDFileIn(d.Dir, d.Name) }

func (d *Daemon) usersDir() string { return filepath.Join(d.Dir, "users") }

// Args are the arguments of `limactl usernet` for this network.
func (d *Daemon) Args() ([]string, error) {
	subnet, err := Subnet(d.Config)
	if err != nil {
		return nil, fmt.Errorf("network %q: %w", d.Name, err)
	}
	q, err := d.QEMUSocket()
	if err != nil {
		return nil, err
	}
	ep, err := d.EndpointSocket()
	if err != nil {
		return nil, err
	}
	return []string{"usernet", "--pidfile", d.PIDFile(), "--endpoint", ep, "--listen-qemu", q, "--subnet", subnet.String()}, nil
}

func (d *Daemon) withLock(fn func() error) error {
	if err := os.MkdirAll(d.usersDir(), 0o700); err != nil {
		return err
	}
	unlock, err := lockutil.Lock(filepath.Join(d.Dir, "usernet.lock"))
	if err != nil {
		return err
	}
	return errors.Join(fn(), unlock())
}

// Running returns the pid of the network's usernet process, or 0.
func (d *Daemon) Running() int {
	f, err := store.CheckPIDFile(d.PIDFile(), isUsernet)
	if err != nil {
		logrus.Debugf("usernet %q: %v", d.Name, err)
		return 0
	}
	return f.PID
}

// isUsernet matches the switch process's command line: lima-usernet, which `limactl usernet`
// execs, or a `limactl usernet` started by an older limactl that ran the switch itself.
func isUsernet(args []string) bool {
	return (len(args) > 0 && filepath.Base(args[0]) == binaryName()) || slices.Contains(args, "usernet")
}

// Users lists the instances attached, pruning those whose process is gone.
func (d *Daemon) Users() ([]string, error) {
	entries, err := os.ReadDir(d.usersDir())
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var users []string
	for _, e := range entries {
		p := filepath.Join(d.usersDir(), e.Name())
		b, err := os.ReadFile(p)
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid <= 0 || !osutil.ProcessAlive(pid) {
			_ = os.Remove(p)
			continue
		}
		users = append(users, e.Name())
	}
	return users, nil
}

// Acquire attaches instance (held by process pid) to the network, starting the usernet process
// when none runs, and returns once its QEMU socket listens.
func (d *Daemon) Acquire(ctx context.Context, instance string, pid int) error {
	if err := identifiers.Validate(instance); err != nil {
		return fmt.Errorf("instance name %q: %w", instance, err)
	}
	return d.withLock(func() error {
		if _, err := d.Users(); err != nil {
			return err
		}
		if d.Running() == 0 {
			if err := d.start(ctx); err != nil {
				return err
			}
		}
		return os.WriteFile(filepath.Join(d.usersDir(), instance), []byte(strconv.Itoa(pid)+"\n"), 0o600)
	})
}

// Release detaches instance, and stops the usernet process when no instance is left.
func (d *Daemon) Release(instance string) error {
	if err := identifiers.Validate(instance); err != nil {
		return fmt.Errorf("instance name %q: %w", instance, err)
	}
	return d.withLock(func() error {
		if err := os.Remove(filepath.Join(d.usersDir(), instance)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		users, err := d.Users()
		if err != nil {
			return err
		}
		if len(users) > 0 {
			logrus.Debugf("usernet %q: still used by %s", d.Name, strings.Join(users, ", "))
			return nil
		}
		return d.stop()
	})
}

func (d *Daemon) logFile() string { return filepath.Join(d.Dir, "usernet.log") }

func (d *Daemon) start(ctx context.Context) error {
	args, err := d.Args()
	if err != nil {
		return err
	}
	mk := d.Command
	if mk == nil {
		// A missing lima-usernet is reported here, not only in the process's log.
		if _, err := Binary(); err != nil {
			return fmt.Errorf("cannot start network %q: %w", d.Name, err)
		}
		mk = selfCommand
	}
	cmd, err := mk(args)
	if err != nil {
		return err
	}
	q, _ := d.QEMUSocket()
	_ = os.Remove(q) // a stale socket must not pass for the new one
	logf, err := os.OpenFile(d.logFile(), os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = osutil.SysProcAttrDetached()
	logrus.Debugf("usernet %q: starting %v", d.Name, cmd.Args)
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cannot start the usernet process of network %q: %w", d.Name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }() // reaped whoever stops it
	timeout := d.StartTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		if _, err := os.Stat(q); err == nil && d.Running() != 0 {
			logrus.Infof("usernet %q: started (pid %d)", d.Name, cmd.Process.Pid)
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("the usernet process of network %q exited at start (see %s)", d.Name, d.logFile())
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return ctx.Err()
		case <-deadline.C:
			_ = cmd.Process.Kill()
			return fmt.Errorf("the usernet process of network %q did not listen on %s within %v (see %s)", d.Name, q, timeout, d.logFile())
		case <-tick.C:
		}
	}
}

func (d *Daemon) stop() error {
	f, err := store.CheckPIDFile(d.PIDFile(), isUsernet)
	if err != nil || f.PID == 0 {
		return err
	}
	if !f.Confirmed {
		return fmt.Errorf("usernet %q: not signalling pid %d from %s: cannot confirm it is the usernet process", d.Name, f.PID, d.PIDFile())
	}
	logrus.Infof("usernet %q: no instance is left; stopping it (pid %d)", d.Name, f.PID)
	if err := osutil.InterruptProcess(f.PID); err != nil {
		_ = osutil.KillProcess(f.PID)
	}
	timeout := d.StopTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	for end := time.Now().Add(timeout); time.Now().Before(end); time.Sleep(20 * time.Millisecond) {
		if !osutil.ProcessAlive(f.PID) {
			_ = os.Remove(d.PIDFile())
			return nil
		}
	}
	logrus.Warnf("usernet %q: pid %d did not end within %v; killing it", d.Name, f.PID, timeout)
	_ = osutil.KillProcess(f.PID)
	_ = os.Remove(d.PIDFile())
	return nil
}

func selfCommand(args []string) (*exec.Cmd, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return exec.Command(self, args...), nil
}

// UsersDirOf returns the users directory next to a usernet pid file, and whether it exists: the
// usernet process watches it only when a Daemon started it.
func UsersDirOf(pidFile string) (string, bool) {
	dir := filepath.Dir(pidFile)
	st, err := os.Stat(filepath.Join(dir, "users"))
	return dir, err == nil && st.IsDir()
}

// ExitWhenUnused is run by the usernet process started by a Daemon in dir: every interval, under
// the network's lock, it looks at the users, and once no live process holds the network (every host
// agent on it was killed without a Release, say) it calls shutdown, still under the lock. shutdown
// must leave no socket or pid file behind (the process exits in it), so that an Acquire waiting for
// the lock finds no usernet process and starts a new one. It returns when ctx ends.
func ExitWhenUnused(ctx context.Context, dir string, interval time.Duration, shutdown func()) {
	d := &Daemon{Dir: dir}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		err := d.withLock(func() error {
			users, err := d.Users()
			if err != nil || len(users) > 0 || ctx.Err() != nil {
				return err
			}
			logrus.Infof("usernet: no instance uses the network any more; exiting")
			shutdown()
			return nil
		})
		if err != nil {
			logrus.WithError(err).Warn("usernet: cannot check the network's users")
		}
	}
}
