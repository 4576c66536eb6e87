package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limatmpl"
)

// newTemplateURLCommand is `limactl template url`: what a custom locator (SCHEME:..., rewritten
// by the plugin limactl-url-SCHEME) stands for. Other locators are printed unchanged.
func newTemplateURLCommand(ios *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "url CUSTOM_URL",
		Short: "Transform custom template URLs to regular file or https URLs",
		Example: `  With an executable limactl-url-my in $PATH that prints "https://example.com/$1.yaml":
  $ limactl template url my:fedora
  https://example.com/fedora.yaml`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			u, err := limatmpl.TransformCustomURL(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(ios.Out, u)
			return err
		},
	}
}
