package main

import (
	"compress/gzip"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"github.com/spf13/cobra"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/downloader"
	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/sshutil"
)

// GuestInstallOptions are the inputs of `limactl guest-install`.
type GuestInstallOptions struct {
	IO       *iostreams.IOStreams
	Instance string
}

func newGuestInstallCommand(ios *iostreams.IOStreams, runF func(*GuestInstallOptions) error) *cobra.Command {
	opts := &GuestInstallOptions{IO: ios}
	cmd := &cobra.Command{
		Use:   "guest-install INSTANCE",
		Short: "Install guest components",
		Long: `Install guest components

Copy this limactl's guest agent (and, when containerd is enabled, the nerdctl-full archive) into a
running instance, install them under guestInstallPrefix, and restart the guest agent.`,
		Args:              cobra.MaximumNArgs(1),
		ValidArgsFunction: completeInstanceNames,
		Hidden:            true,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.Instance = "default"
			if len(args) > 0 {
				opts.Instance = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return runGuestInstall(cmd.Context(), opts)
		},
	}
	return cmd
}

func runGuestInstall(ctx context.Context, opts *GuestInstallOptions) error {
	inst, err := runningInstance(ctx, opts.IO, opts.Instance, false)
	if err != nil {
		return err
	}
	y := inst.Config
	if y == nil {
		return fmt.Errorf("instance %#q has no configuration", inst.Name)
	}
	if y.OS != nil && *y.OS != limayaml.LINUX {
		return fmt.Errorf("instance %#q runs %s: the guest agent is for Linux guests only", inst.Name, *y.OS)
	}
	prefix := limayaml.DefaultGuestInstallPrefix
	if y.GuestInstallPrefix != nil && *y.GuestInstallPrefix != "" {
		prefix = *y.GuestInstallPrefix
	}
	agent, ok := guestAgents()[inst.Arch]
	if !ok {
		return fmt.Errorf("the guest agent for %s is missing next to limactl (<prefix>/share/lima/lima-guestagent.Linux-%s); build it with `make guestagent`", inst.Arch, inst.Arch)
	}
	client, err := dialInstance(ctx, inst)
	if err != nil {
		return sshFailure(err)
	}
	defer client.Close()

	// lima-guestagent
	r, closeAgent, err := openGuestAgent(agent.Location)
	if err != nil {
		return err
	}
	defer closeAgent()
	logrus.Infof("Copying %q to %s:%s", filepath.Base(agent.Location), inst.Name, "lima-guestagent") // Lima's words
	tmp, err := uploadToGuest(ctx, client, r, "lima-guestagent.XXXXXX")
	if err != nil {
		return err
	}
	bin := prefix + "/bin/lima-guestagent"
	logrus.Infof("Installing %s to %s", "lima-guestagent", bin)
	if err := guestRun(ctx, client, fmt.Sprintf("sudo mkdir -p %s && sudo install -m 755 %s %s; rc=$?; rm -f %s; exit $rc",
		sshutil.ShellQuote(prefix+"/bin"), sshutil.ShellQuote(tmp), sshutil.ShellQuote(bin), sshutil.ShellQuote(tmp))); err != nil {
		return err
	}
	// The boot script runs it as a systemd service; the running one is the old binary.
	logrus.Info("Restarting lima-guestagent")
	if err := guestRun(ctx, client, "if [ -d /run/systemd/system ] && systemctl cat lima-guestagent.service >/dev/null 2>&1; then sudo systemctl restart lima-guestagent.service; fi"); err != nil {
		return err
	}

	// nerdctl-full.tgz
	if !y.Containerd.Enabled() {
		return nil
	}
	_, archive, err := downloader.NerdctlArchive(ctx, y.Containerd.Archives, inst.Arch, downloader.WithCache())
	if err != nil {
		return err
	}
	f, err := os.Open(archive)
	if err != nil {
		return err
	}
	defer f.Close()
	logrus.Infof("Copying %q to %s:%s", filepath.Base(archive), inst.Name, "nerdctl-full.tgz")
	tmp, err = uploadToGuest(ctx, client, f, "nerdctl-full.XXXXXX.tgz")
	if err != nil {
		return err
	}
	logrus.Infof("Installing %s in %s", "nerdctl-full.tgz", prefix)
	return guestRun(ctx, client, fmt.Sprintf("sudo tar Cxzf %s %s; rc=$?; rm -f %s; exit $rc",
		sshutil.ShellQuote(prefix), sshutil.ShellQuote(tmp), sshutil.ShellQuote(tmp)))
}

// openGuestAgent opens the guest agent binary, decompressing a .gz one.
func openGuestAgent(p string) (io.Reader, func(), error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, nil, err
	}
	if !strings.HasSuffix(p, ".gz") {
		return f, func() { f.Close() }, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("%s: %w", p, err)
	}
	return zr, func() { zr.Close(); f.Close() }, nil
}

// uploadToGuest writes r to a new temporary file in the guest (mktemp -t pattern) and returns
// its path.
func uploadToGuest(ctx context.Context, client *ssh.Client, r io.Reader, pattern string) (string, error) {
	script := fmt.Sprintf(`t=$(mktemp -t %s) || exit 1; cat >"$t" || { rm -f "$t"; exit 1; }; echo "$t"`, sshutil.ShellQuote(pattern))
	out, _, err := sshutil.Output(ctx, client, script, r)
	if err != nil {
		return "", err
	}
	tmp := strings.TrimSpace(string(out))
	if tmp == "" || strings.ContainsAny(tmp, "\n") {
		return "", fmt.Errorf("unexpected temporary file name from the guest: %q", out)
	}
	return tmp, nil
}

func guestRun(ctx context.Context, client *ssh.Client, command string) error {
	logrus.Debugf("executing in the guest: %s", command)
	_, _, err := sshutil.Output(ctx, client, command, nil)
	return err
}
