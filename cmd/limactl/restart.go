package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"time"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// RestartOptions are the inputs of `limactl restart`.
type RestartOptions struct {
	IO       *iostreams.IOStreams
	Force    bool
	Name     string
	Timeout  time.Duration
	Debug    bool
	Progress bool // show the guest's cloud-init output while it boots
	// EditFlags holds the edit flags (--cpus, --set, ...), applied to lima.yaml before the restart.
	EditFlags *pflag.FlagSet
}

func newRestartCommand(ios *iostreams.IOStreams, runF func(*RestartOptions) error) *cobra.Command {
	opts := &RestartOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "restart [INSTANCE]",
		Short: "Restart a running instance",
		Example: `  To restart the instance "default":
  $ limactl restart

  To restart the instance "foo" with 4 CPUs and 8 GiB of memory:
  $ limactl restart --cpus=4 --memory=8 foo`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Name = "default"
			if len(args) == 1 {
				opts.Name = args[0]
			}
			opts.Debug, _ = cmd.Flags().GetBool("debug")
			opts.EditFlags = cmd.Flags()
			if runF != nil {
				return runF(opts)
			}
			return runRestart(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVarP(&opts.Force, "force", "f", false, "Forcibly stop the processes")
	cmd.Flags().DurationVar(&opts.Timeout, "timeout", instance.DefaultStartTimeout, "Duration to wait for the instance to be running before timing out")
	cmd.Flags().BoolVar(&opts.Progress, "progress", false, "Show the guest's cloud-init output while it boots")
	deps.RegisterEditFlags(cmd, "")
	return cmd
}

func runRestart(ctx context.Context, opts *RestartOptions) error {
	inst, err := store.Inspect(ctx, opts.Name)
	if err != nil {
		return err
	}
	// As Lima's restart: the edit flags change lima.yaml first, so a rejected edit
	// leaves the instance as it was, running or not.
	if err := editBeforeRestart(ctx, inst, opts.EditFlags); err != nil {
		return err
	}
	if inst.Status != store.StatusStopped {
		if err := stopOne(ctx, opts.Name, opts.Force); err != nil {
			return err
		}
	}
	return instance.Start(ctx, opts.Name, instance.StartOptions{
		Timeout:     opts.Timeout,
		Debug:       opts.Debug,
		Progress:    opts.Progress,
		ProgressBar: wantProgressBar(opts.IO),
	})
}

// editBeforeRestart applies the edit flags the user set to the instance's lima.yaml, and logs
// Lima's "configuration edited" when that changed it.
func editBeforeRestart(ctx context.Context, inst *store.Instance, flags *pflag.FlagSet) error {
	if flags == nil {
		return nil
	}
	path := filepath.Join(inst.Dir, filenames.LimaYAML)
	yOld, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := deps.CheckParams(yOld, flags); err != nil {
		return err
	}
	exprs, err := deps.YQExpressions(flags, false)
	if err != nil || len(exprs) == 0 {
		return err
	}
	t := &deps.Template{Name: inst.Name, Bytes: yOld}
	if err := deps.ApplyYQ(t, exprs...); err != nil {
		return err
	}
	if bytes.Equal(t.Bytes, yOld) {
		return nil
	}
	if err := instance.SaveYAML(ctx, inst, t.Bytes, false); err != nil {
		return reportConfigErrors(path, nil, err)
	}
	logrus.Infof("Instance %#q configuration edited", inst.Name)
	return nil
}
