package networks

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
)

// Sudoers renders the sudoers rules that let c.Group create paths.varRun and start and stop
// socket_vmnet for every host, shared and bridged network without a password. The text is stable
// (networks in name order), so `limactl sudoers --check` can compare it with the installed file.
// Without an installed socket_vmnet only the mkdir rule and the per-network comments are written.
func (c *Config) Sudoers() (string, error) {
	installed, err := c.IsDaemonInstalled(SocketVMNet)
	if err != nil {
		return "", err
	}
	runAs := ""
	if installed {
		if runAs, err = rootRunAs(); err != nil {
			return "", err
		}
	}
	return c.renderSudoers(installed, runAs), nil
}

// renderSudoers is Sudoers with the facts it looks up on the host given: whether socket_vmnet is
// installed, and the user:group it runs as.
func (c *Config) renderSudoers(installed bool, runAs string) string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%%%s ALL=(root:wheel) NOPASSWD:NOSETENV: %s\n", c.Group, c.MkdirCmd())
	var names []string
	for name, nw := range c.Networks {
		if nw.Mode != ModeUserV2 { // user-v2 needs no root
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		fmt.Fprintf(&sb, "\n# Manage %q network daemons\n", name)
		if !installed {
			continue
		}
		fmt.Fprintf(&sb, "\n%%%s ALL=(%s) NOPASSWD:NOSETENV: \\\n", c.Group, runAs)
		fmt.Fprintf(&sb, "    %s, \\\n", c.StartCmd(name, SocketVMNet))
		fmt.Fprintf(&sb, "    %s\n", c.StopCmd(name, SocketVMNet))
	}
	return sb.String()
}

// rootRunAs is "root:GROUP", GROUP being root's primary group (wheel on macOS).
func rootRunAs() (string, error) {
	u, err := user.Lookup("root")
	if err != nil {
		return "", fmt.Errorf("cannot look up the root user: %w", err)
	}
	g, err := user.LookupGroupId(u.Gid)
	if err != nil {
		return "", fmt.Errorf("cannot look up the group of the root user: %w", err)
	}
	return u.Username + ":" + g.Name, nil
}

// passwordlessSudo reports (with nil) that sudo runs socket_vmnet's user and group without asking
// for a password, e.g. through a rule like `%admin ALL=(ALL:ALL) NOPASSWD: ALL`. A variable so
// tests need no sudo.
var passwordlessSudo = func(c *Config) error {
	cmd := exec.Command("sudo", "-k") // forget a cached password
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to run %v: %w", cmd.Args, err)
	}
	if ok, err := c.IsDaemonInstalled(SocketVMNet); err != nil || !ok {
		return err
	}
	runAs, err := rootRunAs()
	if err != nil {
		return err
	}
	u, g, _ := strings.Cut(runAs, ":")
	cmd = exec.Command("sudo", "--user", u, "--group", g, "--non-interactive", "true")
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("failed to run %v: %w", cmd.Args, err)
	}
	return nil
}

// RegenerateHint tells how to (re)install the sudoers file; limactl is the command's name.
func RegenerateHint(limactl, sudoersFile string) string {
	return fmt.Sprintf("run `%s sudoers >etc_sudoers.d_lima && sudo install -o root etc_sudoers.d_lima %q`", limactl, sudoersFile)
}

// VerifySudoAccess checks that sudoersFile holds exactly the rules Sudoers renders. A missing file
// is fine when sudo needs no password anyway; with sudoersFile "", only that is checked.
func (c *Config) VerifySudoAccess(sudoersFile, limactl string) error {
	if sudoersFile == "" {
		if err := passwordlessSudo(c); err != nil {
			return fmt.Errorf("passwordLessSudo error: %w", err)
		}
		logrus.Debug("sudo doesn't seem to require a password")
		return nil
	}
	hint := RegenerateHint(limactl, sudoersFile)
	b, err := os.ReadFile(sudoersFile)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			perr := passwordlessSudo(c)
			if perr == nil {
				logrus.Debugf("%q does not exist, but sudo doesn't seem to require a password", sudoersFile)
				return nil
			}
			logrus.Debugf("%q does not exist; passwordLessSudo error: %s", sudoersFile, perr)
		}
		return fmt.Errorf("can't read %q: %w: (Hint: %s)", sudoersFile, err, hint)
	}
	want, err := c.Sudoers()
	if err != nil {
		return err
	}
	if string(b) != want {
		return fmt.Errorf("sudoers file %q is out of sync and must be regenerated (Hint: %s)", sudoersFile, hint)
	}
	return nil
}
