package main

import (
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
)

func newTemplateCommand(ios *iostreams.IOStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "template",
		Aliases: []string{"tmpl"},
		Short:   "Lima template management",
		Example: `  Copy the default template to a file, with its base templates embedded:
  $ limactl template copy --embed template:default ./default.yaml

  Validate a template:
  $ limactl template validate ./default.yaml`,
		GroupID: "advanced",
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if err := cmd.Root().PersistentPreRunE(cmd, args); err != nil {
				return err
			}
			logrus.Debug("`limactl template` is experimental")
			return nil
		},
	}
	cmd.AddCommand(
		newTemplateCopyCommand(ios, nil),
		validateCommand(ios, nil),
		newTemplateListCommand(ios),
		newTemplateYQCommand(ios, nil),
		newTemplateURLCommand(ios),
	)
	return cmd
}

// normalizeLocator lets a bare template name stand for template:NAME when no such file exists.
func normalizeLocator(loc string) string {
	if loc == "-" || strings.Contains(loc, ":") {
		return loc
	}
	if _, err := os.Stat(loc); err == nil {
		return loc
	}
	for _, n := range userTemplateNames() {
		if n == loc {
			return "template:" + loc
		}
	}
	return loc
}

func newTemplateListCommand(ios *iostreams.IOStreams) *cobra.Command {
	var short bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the templates",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			names := userTemplateNames()
			if short {
				for _, n := range names {
					fmt.Fprintln(ios.Out, n)
				}
				return nil
			}
			tw := tabwriter.NewWriter(ios.Out, 4, 8, 4, ' ', 0)
			fmt.Fprintln(tw, "NAME\tLOCATOR")
			for _, n := range names {
				fmt.Fprintf(tw, "%s\ttemplate:%s\n", n, n)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().BoolVar(&short, "short", false, "Only print the template names")
	return cmd
}
