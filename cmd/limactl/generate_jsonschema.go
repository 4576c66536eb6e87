package main

import (
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
)

// generate-jsonschema [FILE.yaml...] [--schemafile OUT], as Lima's: without files it prints the
// schema (or writes it to OUT); with files it validates each against the schema, logging
// "FILE": OK (Lima's Makefile checks templates/default.yaml this way), and writes OUT if given.
func newGenerateJSONSchemaCommand(ios *iostreams.IOStreams) *cobra.Command {
	var schemaFile string
	cmd := &cobra.Command{
		Use:    "generate-jsonschema [FILE.yaml...]",
		Short:  "Print the JSON schema of lima.yaml, or validate YAML files against it",
		Args:   cobra.ArbitraryArgs,
		Hidden: true,
		RunE: func(_ *cobra.Command, args []string) error {
			b, err := deps.JSONSchema()
			if err != nil {
				return err
			}
			if schemaFile != "" {
				if err := os.WriteFile(schemaFile, append(b, '\n'), 0o644); err != nil {
					return err
				}
			} else if len(args) == 0 {
				_, err = ios.Out.Write(b)
				return err
			}
			for _, f := range args {
				doc, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				if err := deps.ValidateJSONSchema(b, doc); err != nil {
					return fmt.Errorf("%q: %w", f, err)
				}
				logrus.Infof("%q: OK", f)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&schemaFile, "schemafile", "", "Write the schema to this file instead of standard output")
	return cmd
}
