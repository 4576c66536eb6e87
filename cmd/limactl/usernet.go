package main

import (
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/networks/usernet"
)

// newUsernetCommand is the hidden `limactl usernet`, Lima's user-v2 network process: the qemu
// driver starts one per network (usernet.Daemon) with the sockets in $LIMA_HOME/_networks/NAME.
// The switch itself is the lima-usernet binary, which this command execs with its flags (and the
// logging flags given), so that only that process links gvisor-tap-vsock's netstack. On Unix the
// exec keeps the pid: the process `limactl usernet` started is the switch.
func newUsernetCommand() *cobra.Command {
	var f usernet.Flags
	cmd := &cobra.Command{
		Use:    "usernet",
		Short:  "Run a user-v2 network (started by the instances attached to it)",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := f.Parse(); err != nil {
				return err
			}
			bin, err := usernet.Binary()
			if err != nil {
				return err
			}
			args := f.Args()
			for _, name := range []string{"debug", "log-level", "log-format"} {
				if fl := cmd.Flags().Lookup(name); fl != nil && fl.Changed {
					args = append(args, "--"+name+"="+fl.Value.String())
				}
			}
			return execUsernet(bin, args)
		},
	}
	f.AddTo(cmd.Flags())
	return cmd
}
