package main

import (
	"context"
	"errors"

	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/store"
)

// TemplateCopyOptions are the inputs of `limactl template copy`.
type TemplateCopyOptions struct {
	IO       *iostreams.IOStreams
	Source   string
	Dest     string
	Embed    bool
	EmbedAll bool
	Fill     bool
	Verbatim bool
}

func newTemplateCopyCommand(ios *iostreams.IOStreams, runF func(*TemplateCopyOptions) error) *cobra.Command {
	opts := &TemplateCopyOptions{IO: ios}
	cmd := &cobra.Command{
		Use:               "copy TEMPLATE [DEST|-]",
		Short:             "Copy a template (to stdout when DEST is - or omitted)",
		Args:              cobra.RangeArgs(1, 2),
		ValidArgsFunction: completeTemplateLocators,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Source, opts.Dest = args[0], "-"
			if len(args) == 2 {
				opts.Dest = args[1]
			}
			// As in Lima, --fill implies --embed-all, which implies --embed; only --verbatim
			// conflicts with them.
			opts.EmbedAll = opts.EmbedAll || opts.Fill
			opts.Embed = opts.Embed || opts.EmbedAll
			if opts.Embed && opts.Verbatim {
				return errors.New("--verbatim cannot be used with any of --embed, --embed-all, or --fill")
			}
			if runF != nil {
				return runF(opts)
			}
			return runTemplateCopy(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Embed, "embed", false, "Embed the base templates")
	cmd.Flags().BoolVar(&opts.EmbedAll, "embed-all", false, "Embed the base templates and the external files (scripts) they refer to")
	cmd.Flags().BoolVar(&opts.Fill, "fill", false, "Embed everything and fill in the defaults")
	cmd.Flags().BoolVar(&opts.Verbatim, "verbatim", false, "Copy the template as it is, without making its locators absolute")
	return cmd
}

func runTemplateCopy(ctx context.Context, opts *TemplateCopyOptions) error {
	tmpl, err := deps.ReadTemplate(ctx, "", normalizeLocator(opts.Source))
	if err != nil {
		return err
	}
	out := tmpl.Bytes
	switch {
	case !opts.Embed && !opts.EmbedAll && !opts.Fill && !opts.Verbatim:
		// Relative base: and file: locators would break once the copy lives elsewhere.
		if err := deps.UseAbsLocators(tmpl); err != nil {
			return err
		}
		out = tmpl.Bytes
	case opts.Fill:
		if out, err = fillTemplate(ctx, tmpl); err != nil {
			return err
		}
	case opts.Embed:
		if err := deps.Embed(ctx, tmpl, opts.EmbedAll, false); err != nil {
			return err
		}
		out = tmpl.Bytes
	}
	if opts.Dest == "-" {
		return writeYAML(opts.IO, out)
	}
	return atomicfile.WriteUserFile(opts.Dest, out, 0o644)
}

// fillTemplate embeds the whole base: chain and the files it refers to (the default base
// included), then fills in the defaults: the template as an instance created from it would see it.
func fillTemplate(ctx context.Context, tmpl *deps.Template) ([]byte, error) {
	if err := deps.Embed(ctx, tmpl, true, true); err != nil {
		return nil, err
	}
	y, err := store.LoadYAML(tmpl.Bytes, "")
	if err != nil {
		return nil, err
	}
	return deps.Marshal(y)
}
