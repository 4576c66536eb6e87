package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// CloneOptions are the inputs of `limactl clone` and `limactl rename`.
type CloneOptions struct {
	IO        *iostreams.IOStreams
	OldName   string
	NewName   string
	Start     bool
	Rename    bool
	EditFlags *pflag.FlagSet
}

func newCloneCommand(ios *iostreams.IOStreams, runF func(*CloneOptions) error) *cobra.Command {
	return cloneCommand(ios, runF, false, "clone OLDINST NEWINST", "Clone an instance of Lima",
		"  $ limactl clone default foo --cpus=2")
}

func cloneCommand(ios *iostreams.IOStreams, runF func(*CloneOptions) error, rename bool, use, short, example string) *cobra.Command {
	opts := &CloneOptions{IO: ios, Rename: rename}
	cmd := &cobra.Command{
		Use:               use,
		Short:             short,
		Example:           example,
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.OldName, opts.NewName = args[0], args[1]
			opts.EditFlags = cmd.Flags()
			if runF != nil {
				return runF(opts)
			}
			return runClone(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Start, "start", false, "Start the instance after cloning")
	deps.RegisterEditFlags(cmd, "[limactl edit] ")
	return cmd
}

func runClone(ctx context.Context, opts *CloneOptions) error {
	exprs, err := deps.YQExpressions(opts.EditFlags, false)
	if err != nil {
		return err
	}
	old, err := store.Inspect(ctx, opts.OldName)
	if err != nil {
		if errors.Is(err, store.ErrNotExist) {
			return fmt.Errorf("instance %#q not found", opts.OldName) // Lima's words
		}
		return err
	}
	if err := checkParamFlags(opts.EditFlags, old.Dir); err != nil {
		return err
	}
	// The edit flags are applied to the new instance's lima.yaml; a rejected edit is reported
	// against it (the edited text exists only in memory, so without lines).
	newYAML := opts.NewName
	if dir, err := dirnames.InstanceDir(opts.NewName); err == nil {
		newYAML = filepath.Join(dir, filenames.LimaYAML)
	}
	if opts.Rename {
		if _, err := instance.Rename(ctx, old, opts.NewName, exprs); err != nil {
			return reportConfigErrors(newYAML, nil, err)
		}
		logrus.Infof("Renamed %#q to %#q", opts.OldName, opts.NewName)
	} else {
		if _, err := instance.Clone(ctx, old, opts.NewName, exprs); err != nil {
			return reportConfigErrors(newYAML, nil, err)
		}
		logrus.Infof("Cloned %#q to %#q", opts.OldName, opts.NewName)
	}
	if opts.Start {
		return startStopped(ctx, opts.IO, opts.NewName)
	}
	return nil
}
