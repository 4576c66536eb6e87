package main

import (
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
)

func newRenameCommand(ios *iostreams.IOStreams, runF func(*CloneOptions) error) *cobra.Command {
	return cloneCommand(ios, runF, true, "rename OLDINST NEWINST", "Rename an instance of Lima",
		"  $ limactl rename default foo")
}
