package hostagent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
)

func TestAnsibleInventory(t *testing.T) {
	got, err := ansibleInventory("/home/u/.lima/my vm", "my")
	if err != nil {
		t.Fatal(err)
	}
	want := `all:
    hosts:
        lima-my:
            ansible_connection: ssh
            ansible_host: lima-my
            ansible_ssh_common_args: -F '/home/u/.lima/my vm/ssh.config'
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("inventory (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"/usr/bin/ansible-playbook", "--inventory", "/i.yaml", "/p.yml"},
		ansibleCommand("/usr/bin/ansible-playbook", "/i.yaml", "/p.yml")); diff != "" {
		t.Errorf("command (-want +got):\n%s", diff)
	}
}

// The steps run a fake ansible-playbook (a real process) with the inventory; failures are fatal
// and name the field.
func TestAnsibleSteps(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	record := filepath.Join(dir, "args")
	fake := "#!/bin/sh\necho \"$@\" > " + record + "\necho PLAY RECAP\ncase \"$3\" in */fail.yml) exit 2;; esac\n"
	if err := os.WriteFile(filepath.Join(bin, "ansible-playbook"), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	s := func(v string) *string { return &v }
	a := &agent{inst: &store.Instance{Name: "vm", Dir: dir, Config: &limayaml.LimaYAML{Provision: []limayaml.Provision{
		{Mode: limayaml.ProvisionModeSystem, Script: s("true")},
		{Mode: limayaml.ProvisionModeAnsible, Playbook: "/srv/site.yml"},
		{Mode: limayaml.ProvisionModeAnsible, Playbook: "/srv/fail.yml"},
		{Mode: limayaml.ProvisionModeAnsible, Playbook: "relative.yml"},
	}}}}
	steps := a.ansibleSteps()
	if len(steps) != 3 {
		t.Fatalf("%d steps, want 3", len(steps))
	}
	if ok, err := steps[0].Check(t.Context()); !ok || err != nil {
		t.Fatalf("first playbook: %v, %v", ok, err)
	}
	inv := filepath.Join(dir, "ansible-inventory.yaml")
	if b, _ := os.ReadFile(record); strings.TrimSpace(string(b)) != "--inventory "+inv+" /srv/site.yml" {
		t.Errorf("ansible-playbook ran with %q", b)
	}
	if b, err := os.ReadFile(inv); err != nil || !strings.Contains(string(b), "-F "+filepath.Join(dir, "ssh.config")) {
		t.Errorf("inventory: %q, %v", b, err)
	}
	for i, want := range map[int]string{1: "the ansible playbook /srv/fail.yml failed", 2: `provision[3].playbook "relative.yml" is relative`} {
		ok, err := steps[i].Check(t.Context())
		if ok || !errors.Is(err, ErrFatal) || !strings.Contains(err.Error(), want) {
			t.Errorf("step %d: %v, %v; want a fatal error with %q", i, ok, err, want)
		}
	}
	t.Setenv("PATH", t.TempDir())
	if _, err := steps[0].Check(t.Context()); err == nil || !strings.Contains(err.Error(), "provision[1].playbook needs ansible-playbook") {
		t.Errorf("without ansible-playbook: %v", err)
	}
}
