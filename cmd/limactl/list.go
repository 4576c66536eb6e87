package main

import (
	"context"
	"errors"
	"fmt"

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
	Names      []string
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

The fields a go template may use are printed by --list-fields.`,
		ValidArgsFunction: completeInstanceNames,
		GroupID:           "basic",
		RunE: func(cmd *cobra.Command, args []string) error {
			var err error
			if opts.Format, err = ff.resolve(cmd); err != nil {
				return err
			}
			if opts.Quiet && cmd.Flags().Changed("format") {
				return errors.New("--quiet cannot be combined with --format")
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
	return cmd
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
	if opts.Quiet {
		for _, n := range names {
			fmt.Fprintln(opts.IO.Out, n)
		}
		return unmatchedErr(unmatched)
	}
	insts, err := store.InspectAll(ctx, names)
	if err != nil {
		return err
	}
	for _, inst := range insts {
		if len(inst.Errors) > 0 {
			logrus.Warnf("instance %#q has errors: %v", inst.Name, errors.Join(inst.Errors...))
		}
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
