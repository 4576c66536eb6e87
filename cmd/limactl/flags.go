package main

import (
	"fmt"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/logflags"
)

func addGlobalFlags(root *cobra.Command, ios *iostreams.IOStreams) {
	pf := root.PersistentFlags()
	pf.String("log-level", "", "Set the logging level [trace, debug, info, warn, error]")
	pf.String("log-format", "text", "Set the logging format [text, json]")
	pf.Bool("debug", false, "Debug mode")
	pf.Bool("tty", ios.IsStdoutTTY(), "Enable TUI interactions such as opening an editor. Defaults to true when stdout is a terminal. Set to false for automation.")
	pf.BoolP("yes", "y", false, "Alias of --tty=false")
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := setupLogging(cmd, ios); err != nil {
			return err
		}
		tty, _ := cmd.Flags().GetBool("tty")
		ios.SetInteractive(tty)
		return nil
	}
}

func setupLogging(cmd *cobra.Command, ios *iostreams.IOStreams) error {
	flags := cmd.Flags()
	level, _ := flags.GetString("log-level")
	debug, _ := flags.GetBool("debug")
	format, _ := flags.GetString("log-format")
	logrus.SetOutput(ios.ErrOut)
	if err := logflags.Apply(debug, level, format); err != nil {
		return err
	}
	if yes, _ := flags.GetBool("yes"); yes {
		if flags.Changed("tty") {
			if tty, _ := flags.GetBool("tty"); tty {
				return fmt.Errorf("--yes (-y) cannot be combined with --tty=true")
			}
		}
		_ = flags.Set("tty", "false")
	}
	return nil
}
