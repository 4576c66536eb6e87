package main

import (
	"context"
	"errors"
	"fmt"
	"text/tabwriter"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
)

// SnapshotOptions are the inputs of the `limactl snapshot` subcommands; Action names the subcommand.
type SnapshotOptions struct {
	IO       *iostreams.IOStreams
	Action   string // create, apply, delete, list
	Instance string
	Tag      string
	Quiet    bool
}

func newSnapshotCommand(ios *iostreams.IOStreams, runF func(*SnapshotOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "snapshot",
		Short: "Manage instance snapshots",
		Long: `Manage instance snapshots (qemu only). A snapshot of a running instance holds its disk and
memory; one of a stopped instance holds its disk only. Snapshots live inside the instance's disk.

A running instance cannot be snapshotted while a 9p share is mounted in the guest: stop it first
(for a disk-only snapshot), or use mountType reverse-sshfs.`,
		GroupID: "advanced",
	}
	sub := func(action string, aliases []string, short string, needTag bool) *cobra.Command {
		opts := &SnapshotOptions{IO: ios, Action: action}
		use := action + " INSTANCE"
		if needTag {
			use = action + " --tag TAG INSTANCE"
		}
		c := &cobra.Command{
			Use:               use,
			Aliases:           aliases,
			Short:             short,
			Args:              cobra.ExactArgs(1),
			ValidArgsFunction: completeInstanceNames,
			RunE: func(cmd *cobra.Command, args []string) error {
				opts.Instance = args[0]
				if needTag && opts.Tag == "" {
					return errors.New("expected tag: name the snapshot with --tag, e.g. --tag before-upgrade")
				}
				if runF != nil {
					return runF(opts)
				}
				return runSnapshot(cmd.Context(), opts)
			},
		}
		if needTag {
			c.Flags().StringVar(&opts.Tag, "tag", "", "Name of the snapshot (required)")
		} else {
			c.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "Only show tags")
		}
		return c
	}
	cmd.AddCommand(
		sub("create", []string{"save"}, "Create (save) a snapshot", true),
		sub("apply", []string{"load"}, "Apply (load) a snapshot", true),
		sub("delete", []string{"del"}, "Delete a snapshot", true),
		sub("list", []string{"ls"}, "List the snapshots of an instance", false),
	)
	return cmd
}

func runSnapshot(ctx context.Context, opts *SnapshotOptions) error {
	inst, err := store.Inspect(ctx, opts.Instance)
	if err != nil {
		return err
	}
	if inst.Status != store.StatusRunning && inst.Status != store.StatusStopped {
		return fmt.Errorf("instance %#q is %s, not Running or Stopped: %w", inst.Name, inst.Status, errors.Join(inst.Errors...))
	}
	drv, err := registry.New(inst.VMType, driver.Config{Name: inst.Name, InstanceDir: inst.Dir, Config: inst.Config})
	if err != nil {
		return snapshotError(inst, opts, err)
	}
	switch opts.Action {
	case "create":
		err = drv.CreateSnapshot(ctx, opts.Tag)
	case "apply":
		err = drv.ApplySnapshot(ctx, opts.Tag)
	case "delete":
		err = drv.DeleteSnapshot(ctx, opts.Tag)
	case "list":
		return listSnapshots(ctx, opts, inst, drv)
	default:
		return fmt.Errorf("unknown snapshot action %q", opts.Action)
	}
	if err != nil {
		return snapshotError(inst, opts, err)
	}
	switch opts.Action {
	case "create":
		what := "disk only, the instance is stopped"
		if inst.Status == store.StatusRunning {
			what = "disk and memory"
		}
		logrus.Infof("Created snapshot %#q of %#q (%s)", opts.Tag, inst.Name, what)
	case "apply":
		logrus.Infof("Applied snapshot %#q to %#q", opts.Tag, inst.Name)
	case "delete":
		logrus.Infof("Deleted snapshot %#q of %#q", opts.Tag, inst.Name)
	}
	return nil
}

// snapshotError adds what the user can do next to the driver's error kinds.
func snapshotError(inst *store.Instance, opts *SnapshotOptions, err error) error {
	switch {
	case errors.Is(err, driver.ErrNotFound) && (opts.Action == "apply" || opts.Action == "delete"):
		return fmt.Errorf("%w; run `limactl snapshot list %s` to see the tags", err, inst.Name)
	case errors.Is(err, driver.ErrNotFound):
		return fmt.Errorf("%w; start the instance once (`limactl start %s`) to create its disk", err, inst.Name)
	case errors.Is(err, driver.ErrAlreadyExists):
		return fmt.Errorf("%w; pick another tag, or delete it first with `limactl snapshot delete --tag %s %s`", err, opts.Tag, inst.Name)
	case errors.Is(err, driver.ErrUnsupported) && inst.VMType != limayaml.QEMU:
		return fmt.Errorf("instance %#q uses vmType %#q, which has no snapshots here (only qemu does): %w", inst.Name, inst.VMType, err)
	case errors.Is(err, driver.ErrUnsupported) && inst.Status == store.StatusRunning && uses9p(inst):
		return fmt.Errorf("instance %#q shares host folders over 9p, and QEMU cannot save or load a running guest's "+
			"state while a 9p share is mounted in it. Stop the instance (`limactl stop %s`) to snapshot its disk only, "+
			"unmount the shares in the guest, or switch to reverse-sshfs (`limactl edit --mount-type reverse-sshfs %s`): %w",
			inst.Name, inst.Name, inst.Name, err)
	}
	return err
}

// uses9p reports whether the instance mounts host folders with 9p (qemu's default mount type).
func uses9p(inst *store.Instance) bool {
	if inst.Config == nil || len(inst.Config.Mounts) == 0 {
		return false
	}
	mt := inst.Config.MountType
	return mt == nil || *mt == "" || *mt == limayaml.NINEP
}

func listSnapshots(ctx context.Context, opts *SnapshotOptions, inst *store.Instance, drv driver.Driver) error {
	list, err := drv.ListSnapshots(ctx)
	if err != nil {
		return snapshotError(inst, opts, err)
	}
	if opts.Quiet {
		for _, s := range list {
			fmt.Fprintln(opts.IO.Out, s.Tag)
		}
		return nil
	}
	if len(list) == 0 {
		logrus.Infof("Instance %#q has no snapshots; create one with `limactl snapshot create --tag TAG %s`", inst.Name, inst.Name)
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 4, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tTAG\tVM SIZE\tDATE\tVM CLOCK")
	for _, s := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", s.ID, s.Tag, s.VMStateSize, s.Date, s.VMClock)
	}
	return tw.Flush()
}
