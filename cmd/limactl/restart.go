package main

import (
	"context"
	"time"

	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// RestartOptions are the inputs of `limactl restart`.
type RestartOptions struct {
	IO      *iostreams.IOStreams
	Force   bool
	Name    string
	Timeout time.Duration
	Debug   bool
}

func newRestartCommand(ios *iostreams.IOStreams, runF func(*RestartOptions) error) *cobra.Command {
	opts := &RestartOptions{IO: ios}
	cmd := &cobra.Command{
		Use:               "restart [INSTANCE]",
		Short:             "Restart a running instance",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = "default"
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.Debug, _ = cmd.Flags().GetBool("debug")
			if runF != nil {
				return runF(opts)
			}
			return runRestart(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "Forcibly stop the processes")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", instance.DefaultStartTimeout, "Duration to wait for the instance to be running before timing out")
	return cmd
}

func runRestart(ctx context.Context, opts *RestartOptions) error {
	inst, err := store.Inspect(ctx, opts.Name)
	if err != nil {
		return err
	}
	if inst.Status != store.StatusStopped {
		if err := stopOne(ctx, opts.Name, opts.Force); err != nil {
			return err
		}
	}
	return instance.Start(ctx, opts.Name, instance.StartOptions{Timeout: opts.Timeout, Debug: opts.Debug, ProgressBar: wantProgressBar(opts.IO)})
}
