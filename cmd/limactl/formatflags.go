package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// formatFlags is the one helper behind --format/-f and --json, so every listing command accepts
// the same output options.
type formatFlags struct {
	Format string
	JSON   bool
}

func (f *formatFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVarP(&f.Format, "format", "f", "table", "Output format, one of: json, yaml, table, go-template (e.g. '{{.Name}}')")
	cmd.Flags().BoolVar(&f.JSON, "json", false, "JSONify output (same as --format=json)")
	_ = cmd.RegisterFlagCompletionFunc("format", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"json", "yaml", "table"}, cobra.ShellCompDirectiveNoFileComp
	})
}

// resolve returns the effective format. Like Lima, --json conflicts with any explicit --format,
// even --format json.
func (f *formatFlags) resolve(cmd *cobra.Command) (string, error) {
	if f.JSON {
		if cmd.Flags().Changed("format") {
			return "", errors.New("option --json conflicts with option --format")
		}
		return "json", nil
	}
	return f.Format, nil
}
