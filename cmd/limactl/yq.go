package main

import (
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance/deps"
	"github.com/limactl/limactl/pkg/iostreams"
)

// newYQCommand runs the embedded yq: `limactl yq ARGS...` is `yq ARGS...`.
func newYQCommand(ios *iostreams.IOStreams) *cobra.Command {
	return &cobra.Command{
		Use:                "yq [ARGS...]",
		Short:              "Run the embedded yq (https://github.com/mikefarah/yq)",
		DisableFlagParsing: true,
		GroupID:            "advanced",
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := deps.RunYQ(args, ios.In, ios.Out, ios.ErrOut); err != nil {
				return &exitError{code: 1} // yq has printed the error already
			}
			return nil
		},
	}
}
