package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
)

// TemplateYQOptions are the inputs of `limactl template yq`.
type TemplateYQOptions struct {
	IO         *iostreams.IOStreams
	Template   string
	Expression string
}

func newTemplateYQCommand(ios *iostreams.IOStreams, runF func(*TemplateYQOptions) error) *cobra.Command {
	opts := &TemplateYQOptions{IO: ios}
	return &cobra.Command{
		Use:   "yq TEMPLATE EXPR",
		Short: "Query a template with a yq expression",
		Long: `Evaluate a yq expression on a template, after its bases and the files it refers to have
been embedded and the defaults filled in: the same document as
'limactl template copy --fill TEMPLATE -' piped into yq.`,
		Example:           "  $ limactl template yq template:default '.images[].location'",
		Args:              cobra.ExactArgs(2),
		ValidArgsFunction: completeTemplateLocators,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Template, opts.Expression = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return runTemplateYQ(cmd.Context(), opts)
		},
	}
}

func runTemplateYQ(ctx context.Context, opts *TemplateYQOptions) error {
	tmpl, err := deps.ReadTemplate(ctx, "", normalizeLocator(opts.Template))
	if err != nil {
		return err
	}
	// Like Lima, the expression sees the template as filled in (copy --fill), not as written.
	doc, err := fillTemplate(ctx, tmpl)
	if err != nil {
		return err
	}
	var out []byte
	if opts.IO.ColorEnabled() {
		// Evaluated once, coloured: the results are not a document that could be read back.
		if out, err = deps.EvalYQAs(doc, opts.Expression, deps.YQOutput{Color: true}); err != nil {
			return fmt.Errorf("yq expression %q failed: %w", opts.Expression, err)
		}
	} else if out, err = deps.EvalYQ(doc, opts.Expression); err != nil {
		return err
	}
	_, err = opts.IO.Out.Write(out)
	return err
}
