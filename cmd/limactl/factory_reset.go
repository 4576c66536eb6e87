package main

import (
	"context"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// FactoryResetOptions are the inputs of `limactl factory-reset`.
type FactoryResetOptions struct {
	IO   *iostreams.IOStreams
	Name string
}

func newFactoryResetCommand(ios *iostreams.IOStreams, runF func(*FactoryResetOptions) error) *cobra.Command {
	opts := &FactoryResetOptions{IO: ios}
	return &cobra.Command{
		Use:               "factory-reset INSTANCE",
		Short:             "Factory reset an instance of Lima",
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return runFactoryReset(cmd.Context(), opts)
		},
	}
}

func runFactoryReset(ctx context.Context, opts *FactoryResetOptions) error {
	inst, err := store.Inspect(ctx, opts.Name)
	if err != nil {
		return err
	}
	if inst.HostAgentPID != 0 || inst.DriverPID != 0 {
		// As Lima does: a running instance is stopped forcibly before the reset.
		if err := instance.StopForcibly(ctx, inst); err != nil {
			return err
		}
		if inst, err = store.Inspect(ctx, opts.Name); err != nil {
			return err
		}
	}
	if err := instance.FactoryReset(ctx, inst); err != nil {
		return err
	}
	logrus.Infof("Instance %q has been reset", opts.Name)
	return nil
}
