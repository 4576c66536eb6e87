package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// EditOptions are the inputs of `limactl edit`.
type EditOptions struct {
	IO        *iostreams.IOStreams
	Target    string // instance name or FILE.yaml
	Start     bool   // --start: start the instance after editing
	EditFlags *pflag.FlagSet
}

func newEditCommand(ios *iostreams.IOStreams, runF func(*EditOptions) error) *cobra.Command {
	opts := &EditOptions{IO: ios}
	cmd := &cobra.Command{
		Use:               "edit INSTANCE|FILE.yaml",
		Short:             "Edit an instance of Lima or a template",
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Target = envknob.LimaInstance.Get()
			if opts.Target == "" {
				opts.Target = "default"
			}
			if len(args) == 1 {
				opts.Target = args[0]
			}
			opts.EditFlags = cmd.Flags()
			opts.Start, _ = cmd.Flags().GetBool("start")
			if runF != nil {
				return runF(opts)
			}
			return runEdit(cmd.Context(), opts)
		},
	}
	cmd.Flags().Bool("start", false, "Start the instance after editing")
	deps.RegisterEditFlags(cmd, "")
	return cmd
}

func isYAMLPath(s string) bool {
	l := strings.ToLower(s)
	return strings.HasSuffix(l, ".yaml") || strings.HasSuffix(l, ".yml")
}

func runEdit(ctx context.Context, opts *EditOptions) error {
	if opts.Start && isYAMLPath(opts.Target) {
		return errors.New("--start needs an instance to start, not a YAML file")
	}
	var inst *store.Instance
	path := opts.Target
	if !isYAMLPath(opts.Target) {
		var err error
		if inst, err = store.Inspect(ctx, opts.Target); err != nil {
			if errors.Is(err, store.ErrNotExist) {
				return fmt.Errorf("instance %#q not found", opts.Target) // Lima's words
			}
			return err
		}
		if inst.Status == store.StatusRunning {
			return fmt.Errorf("cannot edit a running instance (run `limactl stop %s` first)", inst.Name)
		}
		path = filepath.Join(inst.Dir, filenames.LimaYAML)
	}
	yOld, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := deps.CheckParams(yOld, opts.EditFlags); err != nil {
		return err
	}
	exprs, err := deps.YQExpressions(opts.EditFlags, false)
	if err != nil {
		return err
	}
	var yNew []byte
	usedEditor := false
	switch {
	case len(exprs) > 0:
		t := &deps.Template{Bytes: yOld}
		if err := deps.ApplyYQ(t, exprs...); err != nil {
			return err
		}
		yNew = t.Bytes
	case opts.IO.CanPrompt():
		header := fmt.Sprintf("Edit %s.\nTo cancel, delete every line and save an empty file.", path)
		if yNew, err = opts.IO.Edit(ctx, yOld, filepath.Base(path), header); err != nil {
			return err
		}
		usedEditor = true
	default:
		return errors.New("nothing to edit: pass edit flags such as --cpus or --set, or use a terminal (--tty) to open $EDITOR")
	}
	if len(bytes.TrimSpace(yNew)) == 0 {
		logrus.Info("Aborting, as requested by saving the file with empty content")
		return nil
	}
	if bytes.Equal(yNew, yOld) {
		logrus.Info("Aborting, no changes made to the instance")
		return nil
	}
	if inst != nil {
		if err := instance.SaveYAML(ctx, inst, yNew, usedEditor); err != nil {
			// Without the editor the new text exists only in memory: name the file, not lines.
			return reportConfigErrors(path, nil, err)
		}
		logrus.Infof("Instance %#q configuration edited", inst.Name)
		if opts.Start {
			return startStopped(ctx, opts.IO, inst.Name)
		}
		return nil
	}
	if err := instance.ValidateEdit(yNew, yOld, path); err != nil {
		if usedEditor {
			err = instance.SaveRejected(yNew, err)
		}
		return reportConfigErrors(path, nil, err)
	}
	// The user's own file: crash-safe, through a symlink, keeping its mode.
	if err := atomicfile.WriteUserFile(path, yNew, 0o644); err != nil {
		return err
	}
	logrus.Infof("%#q edited", path)
	return nil
}
