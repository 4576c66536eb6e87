// Command limactl creates, runs and manages Linux virtual machines described by Lima-format YAML.
package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/instance"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/osutil"
	buildversion "github.com/limactl/limactl/pkg/version"
)

// version is the semantic version limactl reports. The Makefile sets it from `git describe` with
// -ldflags "-X main.version=..."; init settles it (from Go's build info when -ldflags did not).
var version string

func init() { version = buildversion.Resolve(version) }

func main() {
	// Before anything starts a process: descriptors inherited from the caller (a flock(1) lock, a
	// pipe) must not live on in the host agent and the hypervisor.
	osutil.NoInheritedFDs()
	instance.Version = version
	ios := iostreams.System()
	// Multi-call: a binary (or symlink) named yq (yq.exe, yq.lima.exe, ...) runs the embedded yq.
	if isYQName(os.Args[0]) {
		os.Exit(runYQ(ios, os.Args[1:]))
	}
	app := newApp(ios)
	if !generatingDocs(os.Args) {
		addPluginCommands(app, ios, os.Args)
	}
	if err := app.Execute(); err != nil {
		handleExitError(err)
		fatal(err)
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

func newApp(ios *iostreams.IOStreams) *cobra.Command {
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
	root.SetIn(ios.In)
	root.SetOut(ios.Out)
	root.SetErr(ios.ErrOut)
	addGlobalFlags(root, ios)
	root.AddGroup(
		&cobra.Group{ID: "basic", Title: "Basic Commands:"},
		&cobra.Group{ID: "advanced", Title: "Advanced Commands:"},
		&cobra.Group{ID: pluginGroup, Title: "Available Plugins (Experimental):"},
	)
	for _, c := range commands(ios) {
		root.AddCommand(c)
	}
	return root
}

// commands lists every subcommand; each lives in its own file.
func commands(ios *iostreams.IOStreams) []*cobra.Command {
	return []*cobra.Command{
		newCreateCommand(ios, nil),
		newListCommand(ios, nil),
		newDeleteCommand(ios, nil),
		newEditCommand(ios, nil),
		newProtectCommand(ios, nil),
		newUnprotectCommand(ios, nil),
		newCloneCommand(ios, nil),
		newRenameCommand(ios, nil),
		newFactoryResetCommand(ios, nil),
		newValidateCommand(ios, nil),
		newTemplateCommand(ios),
		newYQCommand(ios),
		newYQRestrictionsHelpCommand(),
		newInfoCommand(ios, nil),
		newGenerateJSONSchemaCommand(ios),
		newGenerateDocCommand(ios),
		newShellCommand(ios, nil),
		newCopyCommand(ios, nil),
		newShowSSHCommand(ios, nil),
		newPruneCommand(ios, nil),
		newWatchCommand(ios, nil),
		newAutostartCommand(ios, nil),
		newStartAtLoginCommand(ios, nil),
		newScreenshotCommand(ios, nil),
		newStartCommand(ios, nil),
		newStopCommand(ios, nil),
		newRestartCommand(ios, nil),
		newHostAgentCommand(ios, nil),
		newDiskCommand(ios, nil),
		newSnapshotCommand(ios, nil),
		newNetworkCommand(ios),
		newSudoersCommand(ios),
		newUsernetCommand(),
		newTunnelCommand(ios, nil),
		newGuestInstallCommand(ios, nil),
		newDebugCommand(ios),
	}
}
