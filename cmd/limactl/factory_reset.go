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

// FactoryResetOptions are the inputs of `limactl factory-reset`.
type FactoryResetOptions struct {
	IO   *iostreams.IOStreams
	Name string
}

func newFactoryResetCommand(ios *iostreams.IOStreams, runF func(*FactoryResetOptions) error) *cobra.Command {
	opts := &FactoryResetOptions{IO: ios}
	return &cobra.Command{
		Use:               "factory-reset [INSTANCE]",
		Short:             "Factory reset an instance of Lima",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = "default"
			if len(args) == 1 {
				opts.Name = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runFactoryReset(cmd.Context(), opts)
		},
	}
}

// runFactoryReset resets the instance as Lima does: an instance that does not exist (or a directory
// without lima.yaml, which may be a clone in progress) is only reported, and the exit status is 0.
func runFactoryReset(ctx context.Context, opts *FactoryResetOptions) error {
	inst, err := store.Inspect(ctx, opts.Name)
	if err == nil && inst.ConfigMissing() {
		err = store.ErrNotExist
	}
	if err != nil {
		if errors.Is(err, store.ErrNotExist) {
			logrus.Infof("Instance %#q not found", opts.Name)
			return nil
		}
		return err
	}
	if err := instance.FactoryReset(ctx, inst); err != nil {
		return err
	}
	logrus.Infof("Instance %#q has been factory reset", opts.Name)
	return nil
}
