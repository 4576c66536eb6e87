package main

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/store"
)

// ShowSSHOptions are the inputs of `limactl show-ssh`.
type ShowSSHOptions struct {
	IO       *iostreams.IOStreams
	Instance string
	Format   string
}

func newShowSSHCommand(ios *iostreams.IOStreams, runF func(*ShowSSHOptions) error) *cobra.Command {
	opts := &ShowSSHOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "show-ssh [flags] INSTANCE",
		Short: "Show the ssh command line (DEPRECATED; use `ssh -F ~/.lima/INSTANCE/ssh.config lima-INSTANCE` instead)",
		Long: `Show the ssh command line (DEPRECATED).

Use "ssh -F <LIMA_HOME>/INSTANCE/ssh.config lima-INSTANCE" instead; the file also works as an
Include from ~/.ssh/config, and with VS Code Remote-SSH.

Formats (--format):
  cmd      a full ssh command line (default)
  args     the same, without "ssh" and the host name
  options  one OPTION=VALUE per line
  config   an ~/.ssh/config Host block`,
		Example:           `  $ limactl show-ssh --format=config default >> ~/.ssh/config`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runShowSSH(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVarP(&opts.Format, "format", "f", sshutil.FormatCmd,
		"Format: "+strings.Join(sshutil.Formats, ", "))
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return sshutil.Formats, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

func runShowSSH(ctx context.Context, opts *ShowSSHOptions) error {
	if !slices.Contains(sshutil.Formats, opts.Format) {
		return fmt.Errorf("unknown format: %#q (want one of %s)", opts.Format, strings.Join(sshutil.Formats, ", "))
	}
	inst, err := store.Inspect(ctx, opts.Instance)
	if err != nil {
		return err
	}
	cfgPath := sshutil.SSHConfigFile(inst.Dir)
	logrus.Warnf("`limactl show-ssh` is deprecated. Instead, use `ssh -F %s %s`.", cfgPath, sshutil.HostKeyAlias(inst.Name))
	var opt []sshutil.Option
	if c, err := sshutil.ReadSSHConfig(cfgPath); err == nil {
		opt = c.Options
	} else {
		// Not started yet: show what the host agent will write.
		if inst.SSHLocalPort == 0 {
			return fmt.Errorf("instance %#q has no SSH port yet (no %s); run `limactl start %s`", inst.Name, cfgPath, inst.Name)
		}
		id, err := sshutil.UserPrivateKeyPath()
		if err != nil {
			return err
		}
		opt = sshutil.SSHOptions(inst.Dir, inst.Name, instanceUser(inst), inst.SSHLocalPort, id, sshutil.KnownHostsFile(inst.Dir))
	}
	return sshutil.WriteFormat(opts.IO.Out, inst.Name, opt, opts.Format)
}
