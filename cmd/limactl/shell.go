package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// ShellOptions are the inputs of `limactl shell`.
type ShellOptions struct {
	IO          *iostreams.IOStreams
	Instance    string
	Args        []string // the command; empty means an interactive login shell
	Shell       string
	Workdir     string
	Start       bool
	PreserveEnv bool
	Reconnect   bool
	Sync        string
}

func newShellCommand(ios *iostreams.IOStreams, runF func(*ShellOptions) error) *cobra.Command {
	opts := &ShellOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "shell [flags] INSTANCE [COMMAND...]",
		Short: "Execute shell in Lima",
		Long: `Execute shell in Lima.
Without a COMMAND, an interactive login shell is started. The working directory in the guest is the
host's current directory when it is inside a mount, otherwise the guest user's home.

A COMMAND gets the environment of a login shell ($SHELL -l -c COMMAND). The first COMMAND after
boot runs through the login shell, which leaves a record of what the login files exported and
the umask in the guest; later ones apply it and run $SHELL -c COMMAND, skipping the login files
until one of them changes. Set LIMA_SHELL_LOGIN=1 to always run the login shell.

Hint: try --debug to show the SSH session details.`,
		Example: `  $ limactl shell default
  $ limactl shell default uname -a
  $ limactl shell default -- make test
  $ echo hi | limactl shell default cat`,
		Args:              cobra.ArbitraryArgs,
		ValidArgsFunction: completeShellArgs,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			if opts.Instance == "" {
				if len(args) == 0 {
					return errors.New("requires instance name as first argument")
				}
				opts.Instance, args = args[0], args[1:]
				// `limactl shell vm -- make test`: flag parsing stopped at vm, so the -- is still there.
				if len(args) > 0 && args[0] == "--" {
					args = args[1:]
				}
			}
			opts.Args = args
			if runF != nil {
				return runF(opts)
			}
			return runShell(cmd.Context(), opts)
		},
	}
	// `limactl shell vm ls -la` passes -la to ls.
	cmd.Flags().SetInterspersed(false)
	f := cmd.Flags()
	f.StringVar(&opts.Shell, "shell", "", "Shell interpreter, e.g. /bin/bash")
	f.StringVar(&opts.Workdir, "workdir", "", "Working directory in the guest")
	f.BoolVar(&opts.Start, "start", false, "Start the instance if it is not already running")
	f.BoolVar(&opts.PreserveEnv, "preserve-env", false,
		"Propagate environment variables to the shell (filtered by LIMA_SHELLENV_BLOCK and LIMA_SHELLENV_ALLOW)")
	f.BoolVar(&opts.Reconnect, "reconnect", false, "Reconnect to the SSH session (no-op: limactl keeps no SSH master)")
	f.StringVar(&opts.Sync, "sync", "", "Copy a host directory to the guest and back on exit (not implemented yet)")
	f.StringVar(&opts.Instance, "instance", "", "Instance to use (for the lima wrapper)")
	_ = f.MarkHidden("instance")
	return cmd
}

func completeShellArgs(cmd *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	if len(args) == 0 && !cmd.Flags().Changed("instance") {
		return completeInstanceNames(cmd, args, toComplete)
	}
	return nil, cobra.ShellCompDirectiveDefault
}

func runShell(ctx context.Context, opts *ShellOptions) error {
	if opts.Sync != "" {
		return errors.New("--sync is not implemented yet; copy files with `limactl copy -r` instead")
	}
	if opts.Reconnect {
		logrus.Debug("--reconnect has no effect: every limactl shell opens its own SSH connection")
	}
	inst, err := runningInstance(ctx, opts.IO, opts.Instance, opts.Start)
	if err != nil {
		return err
	}
	client, err := dialInstance(ctx, inst)
	if err != nil {
		return sshFailure(err)
	}
	defer client.Close()

	so := sshutil.ShellOptions{
		Shell:  opts.Shell,
		Args:   opts.Args,
		Stdin:  opts.IO.In,
		Stdout: opts.IO.Out,
		Stderr: opts.IO.ErrOut,
		TTY:    opts.IO.IsStdinTTY() && opts.IO.IsStdoutTTY(),
		Term:   envknob.Term.Get(),

		AlwaysLogin: envknob.LimaShellLogin.Bool(),
	}
	if opts.Workdir != "" {
		so.Workdir, so.WorkdirStrict = opts.Workdir, true
	} else if cwd, err := os.Getwd(); err == nil {
		if wd, ok := sshutil.GuestWorkdir(cwd, instanceMounts(inst)); ok {
			so.Workdir = wd
		} else {
			logrus.Debugf("%s is not inside a mount of %q; starting in the guest home", cwd, inst.Name)
		}
	}
	if opts.PreserveEnv {
		so.Env = sshutil.FilterShellEnv(os.Environ(), envknob.LimaShellEnvBlock.Get(), envknob.LimaShellEnvAllow.Get())
	}
	if logrus.IsLevelEnabled(logrus.DebugLevel) { // the script is built again by RunShell
		logrus.Debugf("running in %q: %s", inst.Name, sshutil.ShellScript(so))
	}
	code, err := sshutil.RunShell(ctx, client, so)
	if err != nil {
		return sshFailure(err)
	}
	if code != 0 {
		return &exitError{code: code}
	}
	return nil
}

// sshFailure reports an SSH-level failure and exits with 255, as `ssh` does, so scripts can tell
// it from the remote command's own exit codes.
func sshFailure(err error) error {
	logrus.Error(err)
	return &exitError{code: 255}
}

// runningInstance inspects name and checks that it is running, starting it first when start is
// set (ios decides whether a download draws a progress bar).
func runningInstance(ctx context.Context, ios *iostreams.IOStreams, name string, start bool) (*store.Instance, error) {
	inst, err := store.Inspect(ctx, name)
	if err != nil {
		if errors.Is(err, store.ErrNotExist) {
			// Lima's words, with the command that works here.
			return nil, fmt.Errorf("instance %#q does not exist, run `limactl create --name=%s` to create a new instance", name, name)
		}
		return nil, err
	}
	if inst.Status == store.StatusRunning {
		return inst, nil
	}
	if inst.Status == store.StatusStopped && start {
		if err := startStopped(ctx, ios, name); err != nil {
			return nil, err
		}
		return runningInstance(ctx, nil, name, false)
	}
	switch inst.Status {
	case store.StatusStopped:
		return nil, fmt.Errorf("instance %#q is stopped, run `limactl start %s` to start the instance", name, name)
	case store.StatusBroken:
		return nil, fmt.Errorf("instance %#q is broken (%w); see `limactl list %s`", name, errors.Join(inst.Errors...), name)
	}
	return nil, fmt.Errorf("instance %#q is not running (status %#q); run `limactl start %s`", name, inst.Status, name)
}

// dialInstance connects to a running instance with the settings the host agent wrote to its
// ssh.config (port, user, key, pinned host key), falling back to the instance's own fields.
func dialInstance(ctx context.Context, inst *store.Instance) (*ssh.Client, error) {
	o := sshutil.DialOptions{
		Addr:           inst.SSHAddress,
		Port:           inst.SSHLocalPort,
		User:           instanceUser(inst),
		KnownHostsFile: sshutil.KnownHostsFile(inst.Dir),
		HostKeyAlias:   sshutil.HostKeyAlias(inst.Name),
	}
	if c, err := sshutil.ReadSSHConfig(sshutil.SSHConfigFile(inst.Dir)); err == nil {
		if p := c.Port(); p != 0 {
			o.Port = p
		}
		if u := c.Get("User"); u != "" {
			o.User = u
		}
		if kh := c.Get("UserKnownHostsFile"); kh != "" && kh != os.DevNull {
			o.KnownHostsFile = kh
		}
		if a := c.Get("HostKeyAlias"); a != "" {
			o.HostKeyAlias = a
		}
		if id := c.Get("IdentityFile"); id != "" {
			s, err := sshutil.LoadSigner(id)
			if err != nil {
				return nil, fmt.Errorf("cannot load the key named in %s: %w", sshutil.SSHConfigFile(inst.Dir), err)
			}
			o.Signer = s
		}
	}
	if o.Port == 0 {
		return nil, fmt.Errorf("instance %#q has no SSH port yet (no %s); wait for `limactl start %s` to finish",
			inst.Name, sshutil.SSHConfigFile(inst.Dir), inst.Name)
	}
	if c := dialMux(ctx, inst, o); c != nil {
		return c, nil
	}
	c, err := sshutil.Dial(ctx, o)
	if err != nil {
		return nil, fmt.Errorf("instance %#q: %w", inst.Name, err)
	}
	return c, nil
}

// muxDialTimeout bounds the handshake with the host agent's SSH mux before falling back to TCP.
const muxDialTimeout = 5 * time.Second

// dialMux connects through the host agent's shared SSH connection (ssh.mux.sock), which saves the
// guest-side login of every new connection. It returns nil on any failure, or when LIMA_SSH_MUX is
// 0/false, so the caller dials the guest directly as before.
func dialMux(ctx context.Context, inst *store.Instance, o sshutil.DialOptions) *ssh.Client {
	if v, ok := envknob.LimaSSHMux.Lookup(); ok {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "0", "false", "no", "off":
			return nil
		}
	}
	o.UnixSocket = filepath.Join(inst.Dir, filenames.SSHMuxSock)
	if _, err := os.Stat(o.UnixSocket); err != nil {
		return nil
	}
	o.Timeout = muxDialTimeout
	c, err := sshutil.Dial(ctx, o)
	if err != nil {
		logrus.WithError(err).Debug("the host agent's SSH mux did not answer; dialling the guest")
		return nil
	}
	return c
}

var linuxUserNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)
})

// instanceUser is the guest user: user.name from the config, else the host user name when it is
// a valid Linux name, else "lima" (Lima's rule).
func instanceUser(inst *store.Instance) string {
	if inst.Config != nil && inst.Config.User.Name != nil && *inst.Config.User.Name != "" {
		return *inst.Config.User.Name
	}
	if u, err := user.Current(); err == nil && linuxUserNameRE().MatchString(u.Username) {
		return u.Username
	}
	return "lima"
}

// instanceMounts lists the instance's mounts for the working-directory rule.
func instanceMounts(inst *store.Instance) []sshutil.Mount {
	if inst.Config == nil {
		return nil
	}
	var res []sshutil.Mount
	for _, m := range inst.Config.Mounts {
		mm := sshutil.Mount{Location: m.Location}
		if m.MountPoint != nil {
			mm.MountPoint = *m.MountPoint
		}
		res = append(res, mm)
	}
	return res
}
