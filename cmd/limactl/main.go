// Command limactl creates, runs and manages Linux virtual machines described by Lima-format YAML.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
)

// version is set by the Makefile with -ldflags "-X main.version=...".
var version = "2.2.0-dev"

func main() {
	if err := newApp().Execute(); err != nil {
		handleExitError(err)
		logrus.Fatal(err)
	}
}

// exitError carries a process exit code (e.g. the remote exit code of `limactl shell`) without logging.
type exitError struct{ code int }

func (e *exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func handleExitError(err error) {
	var ee *exitError
	if errors.As(err, &ee) {
		os.Exit(ee.code)
	}
}

func newApp() *cobra.Command {
	root := &cobra.Command{
		Use:           "limactl",
		Short:         "Lima: Linux virtual machines",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		Example: `  Start the default instance:
  $ limactl start

  Open a shell:
  $ lima

  Run a command:
  $ limactl shell default uname -a

  Stop the default instance:
  $ limactl stop`,
	}
	addGlobalFlags(root)
	root.AddGroup(
		&cobra.Group{ID: "basic", Title: "Basic Commands:"},
		&cobra.Group{ID: "advanced", Title: "Advanced Commands:"},
	)
	for _, c := range commands() {
		root.AddCommand(c)
	}
	return root
}

// commands lists every subcommand; each lives in its own file.
func commands() []*cobra.Command {
	return []*cobra.Command{}
}
