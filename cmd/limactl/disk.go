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
	"github.com/limactl/limactl/pkg/store"
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
		dir, err := disk.Path(opts.Names[0])
		if err != nil {
			return err
		}
		if _, err := os.Lstat(dir); err != nil { // when it exists, disk.Create says so
			logrus.Infof("Creating %s disk %#q with size %s", opts.Format, opts.Names[0], units.BytesSize(float64(size)))
		}
		_, err = disk.Create(ctx, opts.Names[0], size, opts.Format)
		return err
	case "list":
		return runDiskList(ctx, opts)
	case "delete":
		return runDiskDelete(ctx, opts)
	case "resize":
		size, err := disk.ParseSize(opts.Size)
		if err != nil {
			return err
		}
		d, err := disk.Resize(ctx, opts.Names[0], size)
		if err != nil {
			return err
		}
		logrus.Infof("Resized disk %#q (%#q) to %s; grow the filesystem in the guest (resize2fs, xfs_growfs) to use the space",
			d.Name, d.Dir, units.BytesSize(float64(d.Size)))
		return nil
	case "unlock":
		return runDiskUnlock(ctx, opts)
	case "import":
		d, err := disk.Import(ctx, opts.Names[0], opts.File)
		if err != nil {
			return err
		}
		logrus.Infof("Imported %s as %s disk %#q (%s)", opts.File, d.Format, d.Name, units.BytesSize(float64(d.Size)))
		return nil
	}
	return fmt.Errorf("unknown disk action %q", opts.Action)
}

// runDiskDelete deletes the disks as Lima does: a disk that does not exist is a warning, and
// without --force a disk that a stopped instance lists in additionalDisks is skipped with a warning
// (both exit 0). A disk locked by an instance is an error.
func runDiskDelete(ctx context.Context, opts *DiskOptions) error {
	var users map[string][]string // disk name -> instances that list it; read once, when needed
	var errs []error
	for _, name := range opts.Names {
		d, err := disk.Inspect(ctx, name)
		switch {
		case errors.Is(err, disk.ErrNotExist):
			// Lima's words. disk.Delete still removes an incomplete disk (no image yet).
			if err := disk.Delete(ctx, name, opts.Force); err != nil {
				if errors.Is(err, disk.ErrNotExist) {
					logrus.Warnf("Ignoring non-existent disk %#q", name)
				} else {
					errs = append(errs, err)
				}
			}
			continue
		case err == nil && d.InstanceDir == "" && !opts.Force:
			if users == nil {
				users = diskUsers(ctx)
			}
			if insts := users[name]; len(insts) > 0 {
				logrus.Warnf("Skipping deleting disk %#q, disk is referenced by one or more non-running instances: %s",
					name, strings.Join(backquoteAll(insts), ", "))
				logrus.Warnf("To delete anyway, run `limactl disk delete --force %s`", name)
				continue
			}
		}
		if err := disk.Delete(ctx, name, opts.Force); err != nil {
			errs = append(errs, err)
			continue
		}
		dir, _ := disk.Path(name)
		logrus.Infof("Deleted %#q (%#q)", name, dir)
	}
	return errors.Join(errs...)
}

// diskUsers maps each disk name to the instances whose additionalDisks list it.
func diskUsers(ctx context.Context) map[string][]string {
	users := map[string][]string{}
	names, err := store.Instances()
	if err != nil {
		return users
	}
	insts, _ := store.InspectAll(ctx, names)
	for _, inst := range insts {
		if inst == nil {
			continue
		}
		for _, d := range inst.AdditionalDisks {
			users[d.Name] = append(users[d.Name], inst.Name)
		}
	}
	return users
}

func backquoteAll(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = fmt.Sprintf("%#q", v)
	}
	return out
}

// runDiskUnlock unlocks the disks as Lima does: a disk that does not exist, one that is not locked,
// and one a running instance uses are each skipped with a warning (exit 0).
func runDiskUnlock(ctx context.Context, opts *DiskOptions) error {
	var errs []error
	for _, name := range opts.Names {
		d, err := disk.Inspect(ctx, name)
		switch {
		case errors.Is(err, disk.ErrNotExist):
			logrus.Warnf("Ignoring non-existent disk %#q", name)
			continue
		case err != nil:
			errs = append(errs, err)
			continue
		case d.InstanceDir == "":
			logrus.Warnf("Ignoring unlocked disk %#q", name)
			continue
		}
		if err := disk.Unlock(name); err != nil {
			if errors.Is(err, disk.ErrInUse) {
				logrus.Warnf("Cannot unlock disk %#q used by running instance %#q", name, d.Instance)
				continue
			}
			errs = append(errs, err)
			continue
		}
		logrus.Infof("Unlocked disk %#q (%#q), which instance %#q had locked", name, d.Dir, d.Instance)
	}
	return errors.Join(errs...)
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
			if errors.Is(err, disk.ErrNotExist) {
				logrus.Warnf("No disk matching %v found.", name) // Lima's words; not an error
				continue
			}
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
	if len(disks) == 0 {
		logrus.Warn("No disk found. Run `limactl disk create DISK --size SIZE` to create a disk.")
	}
	for _, d := range disks {
		dir := d.Dir
		if home != "" && strings.HasPrefix(dir, home+string(os.PathSeparator)) {
			dir = "~" + strings.TrimPrefix(dir, home)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", d.Name, units.BytesSize(float64(d.Size)), d.Format, dir, d.Instance)
	}
	return tw.Flush()
}
