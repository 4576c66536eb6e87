package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/limactl/limactl/pkg/iostreams"
)

func newGenerateDocCommand(_ *iostreams.IOStreams) *cobra.Command {
	var docType string
	cmd := &cobra.Command{
		Use:     "generate-doc DIR",
		Short:   "Generate the command reference (man pages or markdown)",
		Example: "  $ limactl generate-doc --type man ./man1",
		Args:    cobra.ExactArgs(1),
		Hidden:  true,
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			root := cmd.Root()
			root.DisableAutoGenTag = true
			switch docType {
			case "man":
				return doc.GenManTree(root, &doc.GenManHeader{Title: "LIMACTL", Section: "1"}, dir)
			case "markdown", "md":
				return doc.GenMarkdownTree(root, dir)
			}
			return fmt.Errorf("unknown --type %q: want man or markdown", docType)
		},
	}
	cmd.Flags().StringVar(&docType, "type", "man", "Output type: man or markdown")
	return cmd
}
