package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/networks"
)

const socketVMNetURL = "https://lima-vm.io/docs/config/network/vmnet/#socket_vmnet"

// newSudoersCommand is registered on every host, so its help is in the command reference, but it
// works only on macOS, the one host socket_vmnet runs on.
func newSudoersCommand(ios *iostreams.IOStreams) *cobra.Command {
	var check bool
	cmd := &cobra.Command{
		Use: "sudoers [--check [SUDOERSFILE-TO-CHECK]]",
		Example: `
To generate the /etc/sudoers.d/lima file:
$ limactl sudoers | sudo tee /etc/sudoers.d/lima

To validate the existing /etc/sudoers.d/lima file:
$ limactl sudoers --check /etc/sudoers.d/lima
`,
		Short: "Generate the content of the /etc/sudoers.d/lima file",
		Long: fmt.Sprintf(`Generate the content of the /etc/sudoers.d/lima file for enabling vmnet.framework support (socket_vmnet) on macOS.
The content is written to stdout, NOT to the file.
This command must not run as the root user.
See %s for the usage.`, socketVMNetURL),
		Args:    cobra.MaximumNArgs(1),
		GroupID: "advanced",
		RunE: func(_ *cobra.Command, args []string) error {
			return runSudoers(ios.Out, check, args)
		},
	}
	cmd.Flags().BoolVar(&check, "check", false, "check that the sudoers file is up-to-date with \"$LIMA_HOME/_config/networks.yaml\"")
	return cmd
}

func runSudoers(out io.Writer, check bool, args []string) error {
	if runtime.GOOS != "darwin" {
		return errors.New("sudoers command is only supported on macOS right now")
	}
	if os.Geteuid() == 0 {
		return errors.New("must not run as the root user")
	}
	cfg, err := networks.LoadConfig()
	if err != nil {
		return err
	}
	// Rules for an unsafe socket_vmnet would hand root to whoever can replace it.
	if err := cfg.Validate(); err != nil {
		logrus.Infof("Please check %s for more information.", socketVMNetURL)
		return err
	}
	if check {
		return verifySudoers(out, &cfg, args)
	}
	if len(args) == 1 {
		return errors.New("the file argument can be specified only for --check mode")
	}
	text, err := cfg.Sudoers()
	if err != nil {
		return err
	}
	_, err = io.WriteString(out, text)
	return err
}

func verifySudoers(out io.Writer, cfg *networks.Config, args []string) error {
	var file string
	if len(args) == 1 {
		file = args[0]
	} else {
		file = cfg.Paths.Sudoers
		if file == "" {
			cfgFile, _ := networks.ConfigFile()
			return fmt.Errorf("no sudoers file defined in %q", cfgFile)
		}
	}
	if err := cfg.VerifySudoAccess(file, os.Args[0]); err != nil {
		return err
	}
	fmt.Fprintf(out, "%q is up-to-date (or sudo doesn't require a password)\n", file)
	return nil
}
