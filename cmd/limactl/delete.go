package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// DeleteOptions are the inputs of `limactl delete`.
type DeleteOptions struct {
	IO    *iostreams.IOStreams
	Force bool
	Names []string
}

func newDeleteCommand(ios *iostreams.IOStreams, runF func(*DeleteOptions) error) *cobra.Command {
	opts := &DeleteOptions{IO: ios}
	cmd := &cobra.Command{
		Use:               "delete INSTANCE [INSTANCE, ...]",
		Aliases:           []string{"remove", "rm"},
		Short:             "Delete an instance of Lima",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return runDelete(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "Forcibly kill the processes")
	return cmd
}

// runDelete deletes the instances as Lima does: an instance that does not exist is a warning (exit
// 0, with or without --force), a directory without lima.yaml is left alone (it may be a clone in
// progress; an error, after the other names are handled), and any other failure stops at once.
func runDelete(ctx context.Context, opts *DeleteOptions) error {
	var errs []error
	for _, name := range opts.Names {
		inst, err := store.Inspect(ctx, name)
		if err != nil {
			if errors.Is(err, store.ErrNotExist) {
				logrus.Warnf("Ignoring non-existent instance %#q", name)
				continue
			}
			return err
		}
		if err := instance.Delete(ctx, inst, opts.Force); err != nil {
			if inst.ConfigMissing() {
				errs = append(errs, err)
				continue
			}
			return fmt.Errorf("failed to delete instance %#q: %w", name, err)
		}
		logrus.Infof("Deleted %#q (%#q)", name, inst.Dir)
	}
	return errors.Join(errs...)
}
