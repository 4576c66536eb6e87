package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// ListOptions are the inputs of `limactl list`.
type ListOptions struct {
	IO         *iostreams.IOStreams
	Format     string
	Quiet      bool
	ListFields bool
	AllFields  bool
	// YQ are the --yq expressions, applied in turn to each instance's JSON or YAML.
	YQ []string
	// Filter are the --filter expressions; an instance is listed when every one selects it.
	Filter []string
	Names  []string
}

func newListCommand(ios *iostreams.IOStreams, runF func(*ListOptions) error) *cobra.Command {
	opts := &ListOptions{IO: ios}
	var ff formatFlags
	cmd := &cobra.Command{
		Use:     "list [flags] [INSTANCE]...",
		Aliases: []string{"ls"},
		Short:   "List instances of Lima",
		Long: `List instances of Lima.

The output can be presented in one of several formats, using the --format <format> flag.

  --format json  - output in json format
  --format yaml  - output in yaml format
  --format table - output in table format
  --format '{{ <go template> }}' - if the format begins and ends with '{{ }}', it is treated as a go template

The fields a go template may use are printed by --list-fields.

Filtering and querying with yq expressions (https://mikefarah.gitbook.io/yq/):
  --filter EXPR  - list only the instances for which EXPR is true: the same as --yq 'select(EXPR)',
                   but it works with every format. Repeat it to require several conditions.
                     --filter '.status == "Running"'
                     --filter '.status == "Running"' --filter '.vmType == "vz"'
  --yq EXPR      - apply EXPR to each instance's JSON (or YAML, with --format yaml) and print
                   the results. Repeat it to apply one expression after another. It implies
                   --format json, and with --quiet prints the names of the instances it yields.
                     --yq .dir
                     --yq 'select(.cpus >= 4)' --yq .name
The expressions see the fields of --format json. They cannot read environment variables or
files: env, strenv, envsubst, load and load_str are disabled.`,
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Format, err = ff.resolve(cmd); err != nil {
				return err
			}
			if err := checkListFlags(opts, cmd.Flags().Changed("format")); err != nil {
				return err
			}
			opts.Names = args
			if runF != nil {
				return runF(opts)
			}
			return runList(cmd.Context(), opts)
		},
	}
	ff.register(cmd)
	cmd.Flags().BoolVarP(&opts.Quiet, "quiet", "q", false, "Only show names")
	cmd.Flags().BoolVar(&opts.ListFields, "list-fields", false, "List fields available for format")
	cmd.Flags().BoolVar(&opts.AllFields, "all-fields", false, "Show all fields in the table, even when the terminal is narrow")
	cmd.Flags().StringArrayVar(&opts.YQ, "yq", nil, "Apply yq expression to each instance (repeatable; implies --format json)")
	cmd.Flags().StringArrayVarP(&opts.Filter, "filter", "l", nil, "Filter instances using yq expression (equivalent to --yq 'select(EXPR)'; repeatable, all must match)")
	return cmd
}

// checkListFlags refuses what Lima refuses, with Lima's messages, and makes --yq imply --format
// json when no --format was given.
func checkListFlags(opts *ListOptions, formatChanged bool) error {
	switch {
	case opts.ListFields && formatChanged:
		return errors.New("option --list-fields conflicts with option --format")
	case len(opts.YQ) > 0 && formatChanged && opts.Format != "json" && opts.Format != "yaml":
		return errors.New("option --yq only works with --format json or yaml")
	case len(opts.YQ) > 0 && opts.ListFields:
		return errors.New("option --list-fields conflicts with option --yq")
	case len(opts.Filter) > 0 && opts.ListFields:
		return errors.New("option --list-fields conflicts with option --filter")
	case opts.Quiet && opts.Format != "table":
		return errors.New("option --quiet can only be used with '--format table'")
	}
	if len(opts.YQ) > 0 && !formatChanged {
		opts.Format = "json"
	}
	return nil
}

func runList(ctx context.Context, opts *ListOptions) error {
	if opts.ListFields {
		for _, f := range store.ListFields() {
			fmt.Fprintln(opts.IO.Out, f)
		}
		return nil
	}
	all, err := store.Instances()
	if err != nil {
		return err
	}
	names, unmatched := selectNames(all, opts.Names)
	if len(opts.Names) == 0 && len(all) == 0 {
		logrus.Warn("No instance found. Run `limactl create` to create an instance.")
		return nil
	}
	if opts.Quiet && len(opts.YQ) == 0 && len(opts.Filter) == 0 {
		for _, n := range names {
			fmt.Fprintln(opts.IO.Out, n)
		}
		return unmatchedErr(unmatched)
	}
	insts, err := store.InspectAll(ctx, names)
	if err != nil {
		return err
	}
	if insts, err = filterInstances(insts, opts.Filter); err != nil {
		return err
	}
	if opts.Quiet && len(opts.YQ) == 0 {
		for _, inst := range insts {
			fmt.Fprintln(opts.IO.Out, inst.Name)
		}
		return unmatchedErr(unmatched)
	}
	for _, inst := range insts {
		if len(inst.Errors) > 0 {
			logrus.Warnf("instance %#q has errors: %v", inst.Name, errors.Join(inst.Errors...))
		}
	}
	if opts.Format == "json" || opts.Format == "yaml" {
		exprs := slices.Clone(opts.YQ)
		if opts.Quiet {
			exprs = append(exprs, ".name")
		}
		if err := printInstancesYQ(opts.IO, insts, opts.Format, exprs); err != nil {
			return err
		}
		return unmatchedErr(unmatched)
	}
	if len(insts) > 0 || opts.Format == "table" && len(unmatched) == 0 {
		popts := &store.PrintOptions{AllFields: opts.AllFields, TerminalWidth: opts.IO.TerminalWidth()}
		if err := store.PrintInstances(opts.IO.Out, insts, opts.Format, popts); err != nil {
			return err
		}
	}
	return unmatchedErr(unmatched)
}

// selectNames keeps the requested names in the order given, without duplicates.
func selectNames(all, requested []string) (names, unmatched []string) {
	if len(requested) == 0 {
		return all, nil
	}
	exists := map[string]bool{}
	for _, n := range all {
		exists[n] = true
	}
	seen := map[string]bool{}
	for _, n := range requested {
		switch {
		case seen[n]:
		case exists[n]:
			names = append(names, n)
		default:
			unmatched = append(unmatched, n)
		}
		seen[n] = true
	}
	return names, unmatched
}

// unmatchedErr warns about each unmatched name and ends the command, in Lima's words.
func unmatchedErr(unmatched []string) error {
	if len(unmatched) == 0 {
		return nil
	}
	for _, n := range unmatched {
		logrus.Warnf("No instance matching %v found.", n)
	}
	return errors.New("unmatched instances")
}
