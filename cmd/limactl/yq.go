package main

import (
	"fmt"
	"path/filepath"
	"strings"

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
			if code := runYQ(ios, args); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// isYQName reports whether limactl runs under yq's name (multi-call): the program name up to its
// first dot is "yq", so "yq", "yq.exe" and "yq.lima.exe" all count, as in Lima.
func isYQName(argv0 string) bool {
	name, _, _ := strings.Cut(filepath.Base(argv0), ".")
	return name == "yq"
}

// runYQ runs the embedded yq and returns the exit code. An error goes to stderr the way the yq
// binary prints it ("Error: ..."), never to stdout, where it would mix with the YAML.
func runYQ(ios *iostreams.IOStreams, args []string) int {
	if err := deps.RunYQ(args, ios.In, ios.Out, ios.ErrOut); err != nil {
		fmt.Fprintln(ios.ErrOut, "Error:", err)
		return 1
	}
	return 0
}
