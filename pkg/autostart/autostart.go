// Package autostart registers instances to start on their own: a systemd user unit on Linux
// (lima-vm@NAME.service), a launchd agent on macOS (io.lima-vm.autostart.NAME, at login) or a
// launchd daemon (io.lima-vm.daemon.NAME, at boot). The file names, labels and the command they run
// (`limactl start NAME --foreground`) are Lima's, so an instance registered by either limactl is seen
// by the other.
//
// The entries are rendered by pure functions (unit.go); Manager writes them atomically and runs
// systemctl or launchctl through a replaceable Runner.
package autostart

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
)

// ErrNotSupported is returned on hosts without a service manager we know (Windows, Linux without
// systemd).
var ErrNotSupported = errors.New("autostart is not supported")

// Runner runs a service-manager command (systemctl, launchctl, sudo ...).
type Runner func(ctx context.Context, name string, args ...string) error

// Entry is what a registration is made of: where the file goes, what is in it, and the commands
// that enable and disable it.
type Entry struct {
	Path    string
	Content []byte
	// Privileged entries (launchd daemons) are installed with sudo: the file is written to a
	// temporary file first and installed by `sudo install`.
	Privileged bool
	Enable     [][]string
	Disable    [][]string
}

// Manager registers instances with the host's service manager.
type Manager struct {
	// GOOS picks systemd (linux) or launchd (darwin); anything else is ErrNotSupported.
	GOOS string
	// Home is the user's home directory; XDGConfigHome is $XDG_CONFIG_HOME (may be empty).
	Home, XDGConfigHome string
	// UID is the user's id, for launchd's gui/UID domain.
	UID int
	// Executable is the limactl the entry runs (absolute).
	Executable string
	// LimaHome is $LIMA_HOME as this limactl resolves it: the service manager does not inherit the
	// shell's environment, so the entry carries it.
	LimaHome string
	// HasSystemd reports whether systemd is the init system (Linux only).
	HasSystemd func() bool
	// Run runs systemctl/launchctl; tests replace it.
	Run Runner
}

// System returns the Manager for this host and user.
func System(limaHome string) (*Manager, error) {
	home, err := os.UserHomeDir()
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if resolved, err := filepath.EvalSymlinks(exe); err == nil {
		exe = resolved
	}
	return &Manager{
		GOOS: runtime.GOOS, Home: home, XDGConfigHome: os.Getenv("XDG_CONFIG_HOME"), UID: os.Getuid(),
		Executable: exe, LimaHome: limaHome,
		HasSystemd: func() bool {
			st, err := os.Stat("/run/systemd/system")
			return err == nil && st.IsDir()
		},
		Run: runCommand,
	}, nil
}

func runCommand(ctx context.Context, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	logrus.Debugf("running command: %v", cmd.Args)
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w", cmd.String(), err)
	}
	return nil
}

// Condition is when an instance starts: at login (user session) or at boot (macOS only).
type Condition string

const (
	AtLogin Condition = "login"
	AtBoot  Condition = "boot"
)

// entry builds the registration of instance name (directory dir) for cond.
func (m *Manager) entry(name, dir string, cond Condition, user string) (*Entry, error) {
	switch {
	case m.GOOS == "linux" && cond == AtLogin:
		if m.HasSystemd != nil && !m.HasSystemd() {
			return nil, fmt.Errorf("%w on linux without systemd", ErrNotSupported)
		}
		unit := SystemdUnitName(name)
		return &Entry{
			Path:    SystemdUnitPath(m.Home, m.XDGConfigHome, name),
			Content: SystemdUnit(m.Executable, m.LimaHome),
			Enable:  [][]string{{"systemctl", "--user", "enable", unit}},
			Disable: [][]string{{"systemctl", "--user", "disable", unit}},
		}, nil
	case m.GOOS == "darwin" && cond == AtLogin:
		target := fmt.Sprintf("gui/%d/%s", m.UID, LaunchdLabel(name))
		return &Entry{
			Path:    LaunchAgentPath(m.Home, name),
			Content: LaunchdPlist(LaunchdLabel(name), "", m.Executable, name, dir, m.LimaHome),
			Enable:  [][]string{{"launchctl", "enable", target}},
			Disable: [][]string{{"launchctl", "disable", target}},
		}, nil
	case m.GOOS == "darwin" && cond == AtBoot:
		label := LaunchdDaemonLabel(name)
		target := "system/" + label
		path := LaunchDaemonPath(name)
		return &Entry{
			Path:       path,
			Content:    LaunchdPlist(label, user, m.Executable, name, dir, m.LimaHome),
			Privileged: true,
			Enable: [][]string{
				{"sudo", "launchctl", "enable", target},
				{"sudo", "launchctl", "bootstrap", "system", path},
			},
			Disable: [][]string{
				{"sudo", "launchctl", "bootout", target},
				{"sudo", "launchctl", "disable", target},
			},
		}, nil
	case cond == AtBoot:
		return nil, errors.New("--condition=boot is only supported on macOS")
	case cond != AtLogin:
		return nil, fmt.Errorf("unknown condition %q: must be \"login\" or \"boot\"", cond)
	}
	return nil, fmt.Errorf("%w on %s", ErrNotSupported, m.GOOS)
}

// Path returns where the registration of name for cond lives, for messages.
func (m *Manager) Path(name string, cond Condition) (string, error) {
	e, err := m.entry(name, "", cond, "")
	if err != nil {
		return "", err
	}
	return e.Path, nil
}

// IsRegistered reports whether name has an entry for cond.
func (m *Manager) IsRegistered(name string, cond Condition) (bool, error) {
	p, err := m.Path(name, cond)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(p); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		return false, err
	}
	return true, nil
}

// Register writes the entry of instance name (directory dir) atomically and enables it. Registering
// again rewrites the entry (a moved limactl or $LIMA_HOME is picked up) and enables it again.
func (m *Manager) Register(ctx context.Context, name, dir string, cond Condition, user string) error {
	e, err := m.entry(name, dir, cond, user)
	if err != nil {
		return err
	}
	if e.Privileged {
		if err := m.installPrivileged(ctx, e); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(filepath.Dir(e.Path), 0o755); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(e.Path, e.Content, 0o644); err != nil {
			return err
		}
	}
	for _, c := range e.Enable {
		if err := m.Run(ctx, c[0], c[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// installPrivileged writes e to a private temporary file and installs it with sudo; the daemon
// directory belongs to root.
func (m *Manager) installPrivileged(ctx context.Context, e *Entry) error {
	tmp, err := os.CreateTemp("", filepath.Base(e.Path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(e.Content); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// A loaded daemon keeps its old definition; unload it first (an error means it was not loaded).
	_ = m.Run(ctx, "sudo", "launchctl", "bootout", "system/"+strings.TrimSuffix(filepath.Base(e.Path), ".plist"))
	return m.Run(ctx, "sudo", "install", "-m", "644", tmp.Name(), e.Path)
}

// Unregister disables the entry of name for cond and removes it. It reports false when there was
// none.
func (m *Manager) Unregister(ctx context.Context, name string, cond Condition) (bool, error) {
	e, err := m.entry(name, "", cond, "")
	if err != nil {
		return false, err
	}
	if ok, err := m.IsRegistered(name, cond); err != nil || !ok {
		return false, err
	}
	for i, c := range e.Disable {
		// A daemon that is not loaded cannot be booted out: that first step may fail.
		if err := m.Run(ctx, c[0], c[1:]...); err != nil && (!e.Privileged || i != 0) {
			return true, err
		}
	}
	if e.Privileged {
		return true, m.Run(ctx, "sudo", "rm", "-f", e.Path)
	}
	return true, os.Remove(e.Path)
}
