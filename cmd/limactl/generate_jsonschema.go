package main

import (
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
)

func newGenerateJSONSchemaCommand(ios *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:    "generate-jsonschema",
		Short:  "Print the JSON schema of lima.yaml",
		Args:   cobra.NoArgs,
		Hidden: true,
		RunE: func(*cobra.Command, []string) error {
			b, err := deps.JSONSchema()
			if err != nil {
				return err
			}
			_, err = ios.Out.Write(b)
			return err
		},
	}
}
