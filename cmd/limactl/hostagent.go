package main

import (
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/hostagent"
	"github.com/limactl/limactl/pkg/iostreams"
)

// HostAgentOptions are the inputs of the hidden `limactl hostagent` command.
type HostAgentOptions struct {
	IO      *iostreams.IOStreams
	Name    string
	PIDFile string
	Socket  string
	// Progress reports the guest's cloud-init output as events (`limactl start --progress`).
	Progress bool
}

// newHostAgentCommand is the per-instance daemon that `limactl start` spawns: events on stdout,
// logrus JSON lines on stderr.
func newHostAgentCommand(ios *iostreams.IOStreams, runF func(*HostAgentOptions) error) *cobra.Command {
	opts := &HostAgentOptions{IO: ios}
	cmd := &cobra.Command{
		Use:    "hostagent INSTANCE",
		Short:  "Run the host agent of an instance (started by `limactl start`)",
		Args:   cobra.ExactArgs(1),
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			logrus.SetFormatter(&logrus.JSONFormatter{})
			return hostagent.Run(cmd.Context(), opts.Name, hostagent.Options{
				PIDFile:    opts.PIDFile,
				SocketPath: opts.Socket,
				Events:     ios.Out,
				Progress:   opts.Progress,
			})
		},
	}
	cmd.Flags().StringVar(&opts.PIDFile, "pidfile", "", "Write the pid to this file (default: ha.pid in the instance directory)")
	cmd.Flags().BoolVar(&opts.Progress, "progress", false, "Report the guest's cloud-init output as events until the guest is ready")
	cmd.Flags().StringVar(&opts.Socket, "socket", "", "Serve the API on this Unix socket (default: ha.sock in the instance directory)")
	return cmd
}
