package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// ValidateOptions are the inputs of `limactl validate` and `limactl template validate`.
type ValidateOptions struct {
	IO       *iostreams.IOStreams
	Locators []string
	Fill     bool
}

func newValidateCommand(ios *iostreams.IOStreams, runF func(*ValidateOptions) error) *cobra.Command {
	cmd := validateCommand(ios, runF)
	cmd.GroupID = "advanced"
	return cmd
}

func validateCommand(ios *iostreams.IOStreams, runF func(*ValidateOptions) error) *cobra.Command {
	opts := &ValidateOptions{IO: ios}
	cmd := &cobra.Command{
		Use:               "validate FILE.yaml|URL|template:NAME [FILE.yaml, ...]",
		Short:             "Validate YAML templates",
		Args:              cobra.MinimumNArgs(1),
		ValidArgsFunction: completeTemplateLocators,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Locators = args
			if runF != nil {
				return runF(opts)
			}
			return runValidate(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.Fill, "fill", false, "Fill defaults and print the resulting YAML")
	return cmd
}

func runValidate(ctx context.Context, opts *ValidateOptions) error {
	for i, loc := range opts.Locators {
		y, err := loadTemplateConfig(ctx, loc)
		if err != nil {
			return err
		}
		if opts.Fill {
			b, err := deps.Marshal(y)
			if err != nil {
				return err
			}
			if i > 0 {
				_, _ = io.WriteString(opts.IO.Out, "---\n")
			}
			_, _ = opts.IO.Out.Write(b)
			continue
		}
		logrus.Infof("%#q: OK", loc)
	}
	return nil
}

// loadTemplateConfig reads the template at loc, embeds its base: chain, and loads and validates it
// as if it were the lima.yaml of an instance named after it (so defaults come out as they would).
// Problems are reported against loc and the text the user wrote, not the instance path, after
// Lima's "failed to validate YAML file `loc`: ".
func loadTemplateConfig(ctx context.Context, loc string) (*limayaml.LimaYAML, error) {
	tmpl, err := deps.ReadTemplate(ctx, "", loc)
	if err != nil {
		return nil, err
	}
	written := tmpl.Bytes
	failed := func(err error) error {
		return reportConfigErrors(loc, written, fmt.Errorf("failed to validate YAML file %#q: %w", loc, err))
	}
	if err := deps.CheckTypes(written, loc); err != nil {
		return nil, failed(err)
	}
	if err := deps.Embed(ctx, tmpl, true, true); err != nil {
		return nil, failed(err)
	}
	instDir, err := dirnames.InstanceDir(tmpl.Name)
	if err != nil {
		return nil, err
	}
	y, err := deps.LoadAs(tmpl.Bytes, filepath.Join(instDir, filenames.LimaYAML), loc)
	if err == nil {
		err = deps.ValidateTemplate(y, true)
	}
	if err != nil {
		return nil, failed(err)
	}
	return y, nil
}
