package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/autostart"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
)

// AutostartOptions are the inputs of `limactl autostart enable|disable` and `limactl start-at-login`.
type AutostartOptions struct {
	IO        *iostreams.IOStreams
	Instance  string
	Enable    bool
	Condition string // login or boot
	User      string // the user a boot-time instance runs as (macOS)
	// Legacy is `start-at-login`: its messages, and a missing instance is not an error.
	Legacy bool
}

// newAutostartManager is the host's service manager; tests replace it.
var newAutostartManager = func() (*autostart.Manager, error) {
	limaHome, err := dirnames.LimaDir()
	if err != nil {
		return nil, err
	}
	return autostart.System(limaHome)
}

func newAutostartCommand(ios *iostreams.IOStreams, runF func(*AutostartOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "autostart",
		Short: "Manage automatic startup of Lima instances",
		Long: `Register an instance to start on its own: at login, as a systemd user service
(lima-vm@INSTANCE.service) on Linux or a launchd agent (io.lima-vm.autostart.INSTANCE) on macOS;
or at boot, as a launchd daemon (io.lima-vm.daemon.INSTANCE, macOS only, needs sudo).`,
		GroupID: "advanced",
	}
	run := func(opts *AutostartOptions) func(*cobra.Command, []string) error {
		return func(c *cobra.Command, args []string) error {
			opts.Instance = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runAutostart(c.Context(), opts)
		}
	}
	enable := &AutostartOptions{IO: ios, Enable: true}
	enableCmd := &cobra.Command{
		Use:               "enable INSTANCE",
		Short:             "Register an instance to start automatically",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeInstanceNames,
		RunE:              run(enable),
	}
	enableCmd.Flags().StringVar(&enable.Condition, "condition", "login",
		`When to start the instance: "login" (user session) or "boot" (system boot, macOS only)`)
	enableCmd.Flags().StringVar(&enable.User, "user", "",
		"macOS username to run the instance as when --condition=boot (default: $USER)")
	disable := &AutostartOptions{IO: ios}
	disableCmd := &cobra.Command{
		Use:               "disable INSTANCE",
		Short:             "Unregister an instance from automatic startup",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeInstanceNames,
		RunE:              run(disable),
	}
	cmd.AddCommand(enableCmd, disableCmd)
	return cmd
}

// newStartAtLoginCommand is Lima's deprecated form of autostart.
func newStartAtLoginCommand(ios *iostreams.IOStreams, runF func(*AutostartOptions) error) *cobra.Command {
	opts := &AutostartOptions{IO: ios, Condition: string(autostart.AtLogin), Legacy: true}
	cmd := &cobra.Command{
		Use:   "start-at-login INSTANCE",
		Short: "Register/Unregister an autostart file for the instance",
		// Not cobra's Deprecated: it would print the notice on stdout (ours is set), Lima's is on stderr.
		Hidden:            true,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(c *cobra.Command, args []string) error {
			fmt.Fprintln(ios.ErrOut, `Command "start-at-login" is deprecated, use "limactl autostart enable" or "limactl autostart disable" instead`)
			opts.Instance = "default"
			if len(args) > 0 {
				opts.Instance = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			if runtime.GOOS == "windows" {
				return errors.New("start-at-login command is only supported on macOS and Linux right now")
			}
			return runAutostart(c.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Enable, "enabled", true, "Automatically start the instance when the user logs in")
	return cmd
}

func runAutostart(ctx context.Context, opts *AutostartOptions) error {
	cond := autostart.Condition(opts.Condition)
	if cond == "" {
		cond = autostart.AtLogin
	}
	if cond == autostart.AtBoot && runtime.GOOS != "darwin" {
		return errors.New("--condition=boot is only supported on macOS")
	}
	inst, err := store.Inspect(ctx, opts.Instance)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if opts.Legacy {
				logrus.Infof("Instance %q not found", opts.Instance)
				return nil
			}
			return fmt.Errorf("instance %q not found", opts.Instance)
		}
		return err
	}
	m, err := newAutostartManager()
	if err != nil {
		return err
	}
	if opts.Legacy {
		return startAtLogin(ctx, m, inst, opts.Enable)
	}
	if !opts.Enable {
		return autostartDisable(ctx, m, inst)
	}
	user := opts.User
	if cond == autostart.AtBoot {
		if user == "" {
			user = os.Getenv("USER")
		}
		if user == "" {
			return errors.New("could not determine user; pass --user")
		}
	}
	if err := m.Register(ctx, inst.Name, inst.Dir, cond, user); err != nil {
		if cond == autostart.AtBoot {
			return fmt.Errorf("failed to install the LaunchDaemon for instance %q: %w", inst.Name, err)
		}
		return fmt.Errorf("failed to register instance %#q to start at login: %w", inst.Name, err)
	}
	if cond == autostart.AtBoot {
		path, _ := m.Path(inst.Name, cond)
		logrus.Infof("LaunchDaemon installed for instance %q (runs as %q at boot)", inst.Name, user)
		logrus.Infof("Plist: %s", path)
		return nil
	}
	logrus.Infof("Instance %#q registered to start at login", inst.Name)
	return nil
}

// autostartDisable removes the login entry, or else (macOS) the boot-time daemon.
func autostartDisable(ctx context.Context, m *autostart.Manager, inst *store.Instance) error {
	done, err := m.Unregister(ctx, inst.Name, autostart.AtLogin)
	if err != nil {
		if done {
			return fmt.Errorf("failed to unregister instance %#q from start at login: %w", inst.Name, err)
		}
		return err
	}
	if done {
		logrus.Infof("Instance %#q unregistered from start at login", inst.Name)
		return nil
	}
	if runtime.GOOS == "darwin" {
		done, err := m.Unregister(ctx, inst.Name, autostart.AtBoot)
		if err != nil {
			return fmt.Errorf("failed to uninstall the LaunchDaemon for instance %q: %w", inst.Name, err)
		}
		if done {
			logrus.Infof("LaunchDaemon uninstalled for instance %q", inst.Name)
			return nil
		}
	}
	logrus.Infof("Instance %#q is not registered for automatic startup", inst.Name)
	return nil
}

// startAtLogin is `start-at-login [--enabled=false]`, with Lima's messages for it.
func startAtLogin(ctx context.Context, m *autostart.Manager, inst *store.Instance, enable bool) error {
	registered, err := m.IsRegistered(inst.Name, autostart.AtLogin)
	if err != nil {
		return fmt.Errorf("failed to check if the autostart entry for instance %q is registered: %w", inst.Name, err)
	}
	if enable {
		verb := "create"
		if registered {
			verb = "update"
		}
		if err := m.Register(ctx, inst.Name, inst.Dir, autostart.AtLogin, ""); err != nil {
			return fmt.Errorf("failed to %s the autostart entry for instance %q: %w", verb, inst.Name, err)
		}
		logrus.Infof("The autostart entry for instance %q has been %sd", inst.Name, verb)
		return nil
	}
	if !registered {
		logrus.Infof("The autostart entry for instance %q is not registered", inst.Name)
		return nil
	}
	if _, err := m.Unregister(ctx, inst.Name, autostart.AtLogin); err != nil {
		return fmt.Errorf("failed to unregister the autostart entry for instance %q: %w", inst.Name, err)
	}
	logrus.Infof("The autostart entry for instance %q has been unregistered", inst.Name)
	return nil
}
