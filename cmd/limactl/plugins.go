package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/usrlocal"
)

// pluginGroup is the help group of the limactl-<name> plugins, titled as Lima's.
const pluginGroup = "plugin"

// addPluginCommands makes every limactl-<name> executable (usrlocal.Plugins: next to limactl, in
// $PATH, in <prefix>/libexec/lima) the command `limactl <name>`, listed under "Available Plugins
// (Experimental)"; the url-<scheme> helpers of template locators are hidden. A plugin never
// replaces a built-in command. argv is os.Args: everything after the plugin's name goes to it
// verbatim, and the global flags before the name are limactl's.
func addPluginCommands(root *cobra.Command, ios *iostreams.IOStreams, argv []string) {
	if !mayNeedPlugins(root, argv) {
		return
	}
	// The global flags are only parsed when the root runs; peek at --debug to debug discovery.
	if len(argv) > 1 && argv[1] == "--debug" {
		logrus.SetLevel(logrus.DebugLevel)
	}
	for _, p := range usrlocal.Plugins() {
		if taken(root, p.Name) {
			logrus.Debugf("plugin %q (%s) is shadowed by the built-in command", p.Name, p.Path)
			continue
		}
		logrus.Debugf("plugin %q: %s", p.Name, p.Path)
		root.AddCommand(newPluginCommand(root, ios, p, argv))
	}
}

// mayNeedPlugins tells whether argv could run or show a plugin: not when it runs a built-in command
// (other than help and completion, which cobra adds later) or only prints the version, so that
// `limactl shell`, `limactl --version` and the rest do not read every directory of $PATH first.
func mayNeedPlugins(root *cobra.Command, argv []string) bool {
	if len(argv) < 2 {
		return true
	}
	c, _, err := root.Find(argv[1:])
	return err != nil || c == root && !showsVersion(root, argv[1:])
}

// showsVersion tells whether args, which name no command, make cobra print the version: --version
// (-v) without --help (-h), which takes precedence. The value of a global flag (--log-level
// --version) is skipped, as cobra does.
func showsVersion(root *cobra.Command, args []string) bool {
	version := false
	for i := 0; i < len(args); i++ {
		switch a := args[i]; {
		case a == "--help" || a == "-h" || a == "--":
			return false
		case a == "--version" || a == "-v":
			version = true
		case strings.HasPrefix(a, "--") && !strings.Contains(a, "="):
			if f := root.PersistentFlags().Lookup(a[2:]); f != nil && f.NoOptDefVal == "" {
				i++
			}
		}
	}
	return version
}

func taken(root *cobra.Command, name string) bool {
	for _, c := range root.Commands() {
		if c.Name() == name || slices.Contains(c.Aliases, name) {
			return true
		}
	}
	return name == "help" || name == "completion"
}

func newPluginCommand(root *cobra.Command, ios *iostreams.IOStreams, p usrlocal.Plugin, argv []string) *cobra.Command {
	// The plugin's own arguments, and limactl's global flags before its name.
	pluginArgs, globalArgs := []string{}, []string{}
	if i := slices.Index(argv, p.Name); i > 0 {
		globalArgs, pluginArgs = argv[1:i], argv[i+1:]
	}
	return &cobra.Command{
		Use:                p.Name,
		Short:              p.Description,
		GroupID:            pluginGroup,
		Hidden:             strings.HasPrefix(p.Name, "url-"),
		DisableFlagParsing: true,
		PersistentPreRunE: func(*cobra.Command, []string) error {
			if err := root.ParseFlags(globalArgs); err != nil {
				return err
			}
			return setupLogging(root, ios)
		},
		RunE: func(*cobra.Command, []string) error {
			return runPlugin(ios, p, pluginArgs)
		},
	}
}

// runPlugin runs a plugin with the terminal, limactl's environment and PluginPath as $PATH, and
// ends limactl with the plugin's exit code.
func runPlugin(ios *iostreams.IOStreams, p usrlocal.Plugin, args []string) error {
	cmd := exec.Command(p.Path, args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = ios.In, ios.Out, ios.ErrOut
	cmd.Env = append(os.Environ(), "PATH="+usrlocal.PluginPath())
	// ^C reaches the plugin (same process group); limactl waits for its exit code.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	defer signal.Stop(sig)
	logrus.Debugf("executing plugin %v", cmd.Args)
	err := cmd.Run()
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() >= 0 {
		return &exitError{code: ee.ExitCode()}
	}
	return fmt.Errorf("external command %q failed: %w", p.Path, err) // Lima's words
}

// generatingDocs reports whether argv runs generate-doc, whose reference must not list the
// plugins of the machine it runs on.
func generatingDocs(argv []string) bool {
	for _, a := range argv[1:] {
		if !strings.HasPrefix(a, "-") {
			return a == "generate-doc"
		}
	}
	return false
}
