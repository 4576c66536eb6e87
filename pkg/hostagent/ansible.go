package hostagent

// Provisioning mode ansible (deprecated in Lima): each entry's playbook is run on the host with
// ansible-playbook against the guest, reached through the instance's ssh.config. The runs are the
// last start-up steps, after the probes, in the order of the provision list; a failed playbook
// makes the instance ready but degraded. The playbook's output goes to the host agent's log
// (ha.stderr.log), a log entry per line.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"
	"gopkg.in/yaml.v3"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/store/filenames"
	"github.com/limactl/limactl/pkg/textutil"
)

// ansibleInventory is the inventory file's content: one host, the instance, named by its ssh.config
// Host alias (lima-NAME) and reached with `ssh -F <instDir>/ssh.config`.
func ansibleInventory(instDir, name string) ([]byte, error) {
	host := sshutil.HostKeyAlias(name)
	inv := map[string]any{
		"all": map[string]any{
			"hosts": map[string]any{
				host: map[string]any{
					"ansible_connection":      "ssh",
					"ansible_host":            host,
					"ansible_ssh_common_args": "-F " + shellQuoteIfNeeded(filepath.Join(instDir, filenames.SSHConfig)),
				},
			},
		},
	}
	return yaml.Marshal(inv)
}

// shellQuoteIfNeeded quotes p for ansible's shlex split of ansible_ssh_common_args.
func shellQuoteIfNeeded(p string) string {
	if strings.ContainsAny(p, " \t'\"\\$") {
		return sshutil.ShellQuote(p)
	}
	return p
}

// ansibleCommand is the command line for one playbook.
func ansibleCommand(ansiblePlaybook, inventory, playbook string) []string {
	return []string{ansiblePlaybook, "--inventory", inventory, playbook}
}

// ansibleSteps returns one start-up step per provision entry of mode ansible.
func (a *agent) ansibleSteps() []Step {
	var steps []Step
	for i, p := range a.inst.Config.Provision {
		if p.Mode != limayaml.ProvisionModeAnsible || p.Playbook == "" {
			continue
		}
		field := fmt.Sprintf("provision[%d].playbook", i)
		playbook := p.Playbook
		steps = append(steps, Step{
			ID: fmt.Sprintf("ansible-%d", i), Description: "Running the ansible playbook " + playbook,
			Hint: "see the playbook's output in ha.stderr.log",
			Check: func(ctx context.Context) (bool, error) {
				if err := a.runAnsible(ctx, field, playbook); err != nil {
					return false, fmt.Errorf("%w: %w", ErrFatal, err) // a playbook is run once, not retried
				}
				return true, nil
			},
		})
	}
	return steps
}

// runAnsible writes the inventory and runs ansible-playbook for one playbook.
func (a *agent) runAnsible(ctx context.Context, field, playbook string) error {
	if !filepath.IsAbs(playbook) {
		return fmt.Errorf("%s %q is relative, and the host agent runs in the instance directory: give an absolute path", field, playbook)
	}
	bin, err := exec.LookPath("ansible-playbook")
	if err != nil {
		return fmt.Errorf("%s needs ansible-playbook on the host, which is not on PATH: install ansible, or remove the entry (mode ansible is deprecated: run ansible-playbook yourself once the instance is READY)", field)
	}
	inv, err := ansibleInventory(a.inst.Dir, a.inst.Name)
	if err != nil {
		return err
	}
	invPath := filepath.Join(a.inst.Dir, filenames.AnsibleInventoryYAML)
	if err := os.WriteFile(invPath, inv, 0o644); err != nil {
		return fmt.Errorf("cannot write the ansible inventory: %w", err)
	}
	argv := ansibleCommand(bin, invPath, playbook)
	logrus.Infof("running %s", strings.Join(argv, " "))
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	// Each output line becomes a log entry (ha.stderr.log holds JSON lines).
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	logged := make(chan struct{})
	go func() {
		defer close(logged)
		// Task output quotes the guest: printable only, each line cut (docs/security.md).
		_ = textutil.ReadLines(pr, 4096, func(l string) bool {
			if l = strings.TrimRight(textutil.Printable(l), " "); l != "" {
				logrus.Info("ansible: " + l)
			}
			return true
		})
		_, _ = io.Copy(io.Discard, pr)
	}()
	err = cmd.Run()
	_ = pw.Close()
	<-logged
	if err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return fmt.Errorf("the ansible playbook %s failed (%w); see ha.stderr.log", playbook, err)
		}
		return fmt.Errorf("cannot run ansible-playbook: %w", err)
	}
	return nil
}
