package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/docker/go-units"
	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/disk"
	"github.com/limactl/limactl/pkg/iostreams"
)

// DiskOptions are the inputs of the `limactl disk` subcommands; Action names the subcommand.
type DiskOptions struct {
	IO     *iostreams.IOStreams
	Action string // create, list, delete, resize, unlock, import
	Names  []string
	Size   string
	Format string
	File   string // import: the image to copy
	Force  bool
	JSON   bool
}

func newDiskCommand(ios *iostreams.IOStreams, runF func(*DiskOptions) error) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "disk",
		Short: "Manage additional disks",
		Long: `Manage additional disks: named data disks in $LIMA_HOME/_disks that instances attach through
the additionalDisks field of lima.yaml. The guest mounts disk NAME at /mnt/lima-NAME.`,
		Example: `  Create a 10 GiB disk and use it from an instance:
  $ limactl disk create data --size 10GiB
  $ limactl start --set '.additionalDisks += ["data"]' template:default

  List the disks:
  $ limactl disk ls`,
		GroupID: "advanced",
	}
	run := func(action string, opts *DiskOptions) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, args []string) error {
			opts.Action, opts.Names = action, args
			if action == "import" {
				opts.Names, opts.File = args[:1], args[1]
			}
			if runF != nil {
				return runF(opts)
			}
			return runDisk(cmd.Context(), opts)
		}
	}
	newOpts := func() *DiskOptions { return &DiskOptions{IO: ios} }

	o := newOpts()
	create := &cobra.Command{
		Use:   "create DISK --size SIZE [--format qcow2|raw]",
		Short: "Create an additional disk",
		Example: `  $ limactl disk create data --size 10GiB
  $ limactl disk create scratch --size 512MiB --format raw`,
		Args: cobra.ExactArgs(1),
		RunE: run("create", o),
	}
	create.Flags().StringVar(&o.Size, "size", "", "Disk size, e.g. 10GiB (required)")
	create.Flags().StringVar(&o.Format, "format", disk.FormatQCOW2, "Disk format: qcow2 or raw")
	_ = create.MarkFlagRequired("size")
	_ = create.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{disk.FormatQCOW2, disk.FormatRaw}, cobra.ShellCompDirectiveNoFileComp
	})

	o = newOpts()
	list := &cobra.Command{
		Use:               "list [DISK...]",
		Aliases:           []string{"ls"},
		Short:             "List the additional disks",
		ValidArgsFunction: completeDiskNames,
		RunE:              run("list", o),
	}
	list.Flags().BoolVar(&o.JSON, "json", false, "JSONify output (one object per line)")

	o = newOpts()
	del := &cobra.Command{
		Use:               "delete DISK...",
		Aliases:           []string{"rm", "remove"},
		Short:             "Delete additional disks",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeDiskNames,
		RunE:              run("delete", o),
	}
	del.Flags().BoolVarP(&o.Force, "force", "f", false, "Delete even if a stopped instance lists the disk")

	o = newOpts()
	resize := &cobra.Command{
		Use:   "resize DISK --size SIZE",
		Short: "Grow an additional disk",
		Long: `Grow an additional disk. Shrinking is not supported, and the disk must not be in use by a
running instance. The guest has to grow the filesystem itself (resize2fs, xfs_growfs) after booting.`,
		Example:           `  $ limactl disk resize data --size 20GiB`,
		Args:              cobra.ExactArgs(1),
		ValidArgsFunction: completeDiskNames,
		RunE:              run("resize", o),
	}
	resize.Flags().StringVar(&o.Size, "size", "", "New disk size, e.g. 20GiB (required)")
	_ = resize.MarkFlagRequired("size")

	o = newOpts()
	unlock := &cobra.Command{
		Use:   "unlock DISK...",
		Short: "Unlock additional disks",
		Long: `Unlock additional disks: remove the in_use_by lock left by an instance that is stopped or
was deleted. A disk used by a running instance cannot be unlocked.`,
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeDiskNames,
		RunE:              run("unlock", o),
	}

	o = newOpts()
	imp := &cobra.Command{
		Use:     "import DISK FILE",
		Short:   "Import a qcow2 or raw image as an additional disk",
		Example: `  $ limactl disk import data ./data.qcow2`,
		Args:    cobra.ExactArgs(2),
		RunE:    run("import", o),
	}
	cmd.AddCommand(create, list, del, resize, unlock, imp)
	return cmd
}

func completeDiskNames(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	names, _ := disk.Names()
	return names, cobra.ShellCompDirectiveNoFileComp
}

func runDisk(ctx context.Context, opts *DiskOptions) error {
	switch opts.Action {
	case "create":
		size, err := disk.ParseSize(opts.Size)
		if err != nil {
			return err
		}
		if err := disk.ValidateFormat(opts.Format); err != nil {
			return err
		}
		logrus.Infof("Creating %s disk %q with size %s", opts.Format, opts.Names[0], units.BytesSize(float64(size)))
		_, err = disk.Create(ctx, opts.Names[0], size, opts.Format)
		return err
	case "list":
		return runDiskList(ctx, opts)
	case "delete":
		var errs []error
		for _, name := range opts.Names {
			if err := disk.Delete(ctx, name, opts.Force); err != nil {
				errs = append(errs, err)
				continue
			}
			logrus.Infof("Deleted %q", name)
		}
		return errors.Join(errs...)
	case "resize":
		size, err := disk.ParseSize(opts.Size)
		if err != nil {
			return err
		}
		d, err := disk.Resize(ctx, opts.Names[0], size)
		if err != nil {
			return err
		}
		logrus.Infof("Disk %q is now %s; grow the filesystem in the guest (resize2fs, xfs_growfs) to use the space",
			d.Name, units.BytesSize(float64(d.Size)))
		return nil
	case "unlock":
		var errs []error
		for _, name := range opts.Names {
			d, err := disk.Inspect(ctx, name)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if d.InstanceDir == "" {
				logrus.Warnf("Disk %q is not used by any instance", name)
				continue
			}
			if err := disk.Unlock(name); err != nil {
				errs = append(errs, err)
				continue
			}
			logrus.Infof("Unlocked %q (was used by %q)", name, d.Instance)
		}
		return errors.Join(errs...)
	case "import":
		d, err := disk.Import(ctx, opts.Names[0], opts.File)
		if err != nil {
			return err
		}
		logrus.Infof("Imported %s as %s disk %q (%s)", opts.File, d.Format, d.Name, units.BytesSize(float64(d.Size)))
		return nil
	}
	return fmt.Errorf("unknown disk action %q", opts.Action)
}

func runDiskList(ctx context.Context, opts *DiskOptions) error {
	var disks []*disk.Disk
	if len(opts.Names) == 0 {
		var err error
		if disks, err = disk.List(ctx); err != nil {
			return err
		}
	} else {
		for _, name := range opts.Names {
			d, err := disk.Inspect(ctx, name)
			if err != nil {
				return err
			}
			disks = append(disks, d)
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		for _, d := range disks {
			if err := enc.Encode(d); err != nil {
				return err
			}
		}
		return nil
	}
	home, _ := os.UserHomeDir()
	tw := tabwriter.NewWriter(opts.IO.Out, 4, 8, 4, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSIZE\tFORMAT\tDIR\tIN-USE-BY")
	for _, d := range disks {
		dir := d.Dir
		if home != "" && strings.HasPrefix(dir, home+string(os.PathSeparator)) {
			dir = "~" + strings.TrimPrefix(dir, home)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, units.BytesSize(float64(d.Size)), d.Format, dir, d.Instance)
	}
	return tw.Flush()
}
