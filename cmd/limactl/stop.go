package main

import (
	"context"
	"errors"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// StopOptions are the inputs of `limactl stop`.
type StopOptions struct {
	IO    *iostreams.IOStreams
	Force bool
	Names []string
}

func newStopCommand(ios *iostreams.IOStreams, runF func(*StopOptions) error) *cobra.Command {
	opts := &StopOptions{IO: ios}
	cmd := &cobra.Command{
		Use:               "stop [INSTANCE ...]",
		Short:             "Stop an instance",
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if len(opts.Names) == 0 {
				opts.Names = []string{"default"}
			}
			if runF != nil {
				return runF(opts)
			}
			return runStop(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "Forcibly kill the processes")
	return cmd
}

func runStop(ctx context.Context, opts *StopOptions) error {
	var errs []error
	for _, name := range opts.Names {
		if err := stopOne(ctx, name, opts.Force); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func stopOne(ctx context.Context, name string, force bool) error {
	inst, err := store.Inspect(ctx, name)
	if err != nil {
		return err
	}
	if force {
		if err := instance.StopForcibly(ctx, inst); err != nil {
			return err
		}
		logrus.Infof("Instance %#q stopped forcibly", name)
		return nil
	}
	return instance.StopGracefully(ctx, inst)
}
