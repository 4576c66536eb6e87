package main

import (
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
)

func newUnprotectCommand(ios *iostreams.IOStreams, runF func(*ProtectOptions) error) *cobra.Command {
	return protectCommand(ios, runF, false, "unprotect INSTANCE [INSTANCE, ...]",
		"Unprotect an instance", "Unprotect an instance, so that `limactl delete` may remove it.")
}
