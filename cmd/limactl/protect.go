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

// ProtectOptions are the inputs of `limactl protect` and `limactl unprotect`.
type ProtectOptions struct {
	IO      *iostreams.IOStreams
	Names   []string
	Protect bool
}

func newProtectCommand(ios *iostreams.IOStreams, runF func(*ProtectOptions) error) *cobra.Command {
	return protectCommand(ios, runF, true, "protect INSTANCE [INSTANCE, ...]",
		"Protect an instance to prohibit accidental removal",
		"Protect an instance to prohibit accidental removal via the `limactl delete` command.\n"+
			"The instance is not protected against removal via `/bin/rm`, Finder, etc.")
}

func protectCommand(ios *iostreams.IOStreams, runF func(*ProtectOptions) error, protect bool, use, short, long string) *cobra.Command {
	opts := &ProtectOptions{IO: ios, Protect: protect}
	return &cobra.Command{
		Use:               use,
		Short:             short,
		Long:              long,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return runProtect(cmd.Context(), opts)
		},
	}
}

// runProtect protects (or unprotects) each instance, as Lima does: a name that cannot be inspected
// is an error reported after the others are handled.
func runProtect(ctx context.Context, opts *ProtectOptions) error {
	var errs []error
	for _, name := range opts.Names {
		inst, err := store.Inspect(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("failed to inspect instance %#q: %w", name, err))
			continue
		}
		if opts.Protect {
			if inst.Protected {
				logrus.Warnf("Instance %#q is already protected. Skipping.", name)
				continue
			}
			if err := instance.Protect(inst); err != nil {
				errs = append(errs, fmt.Errorf("failed to protect instance %#q: %w", name, err))
				continue
			}
			logrus.Infof("Protected %#q", name)
			continue
		}
		if !inst.Protected {
			logrus.Warnf("Instance %#q isn't protected. Skipping.", name)
			continue
		}
		if err := instance.Unprotect(inst); err != nil {
			errs = append(errs, fmt.Errorf("failed to unprotect instance %#q: %w", name, err))
			continue
		}
		logrus.Infof("Unprotected %#q", name)
	}
	return errors.Join(errs...)
}
