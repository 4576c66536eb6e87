package wsl2

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestFirstBootReadsUserData runs the boot script's key extraction (its sed and awk lines, verbatim)
// on a user-data that pkg/cidata generated, so a change of that format cannot silently leave a WSL
// guest without authorized keys or its pinned host key.
func TestFirstBootReadsUserData(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh on this host")
	}
	line := func(prefix string) string {
		for _, l := range strings.Split(firstBoot, "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), prefix) {
				return strings.TrimSpace(l)
			}
		}
		t.Fatalf("firstboot.sh has no line starting with %q", prefix)
		return ""
	}
	keys := line(`sed -n '/^ *ssh_authorized_keys:/`)
	hostKey := strings.ReplaceAll(line(`awk '/^  ed25519_private: \|/`), "/etc/ssh/", `"${home}"/`)
	hostPub := strings.ReplaceAll(line(`sed -n 's/^  ed25519_public: //p'`), "/etc/ssh/", `"${home}"/`)

	home := t.TempDir()
	ud := filepath.Join("..", "..", "cidata", "testdata", "default", "user-data")
	script := "set -eu\nud=\"$1\"\nhome=\"$2\"\nmkdir -p \"${home}/.ssh\"\n" + keys + "\n" + hostKey + "\n" + hostPub + "\n"
	if out, err := exec.Command(sh, "-c", script, "sh", ud, home).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(home, name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	if got, want := read(".ssh/authorized_keys"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJ9q8Oq0nHKbsZy4JcZ8I4nR0b2Y3p5WhH4XQ3y7F1a lima\n"; got != want {
		t.Errorf("authorized_keys = %q, want %q", got, want)
	}
	if got, want := read("ssh_host_ed25519_key.lima-tmp"), "-----BEGIN OPENSSH PRIVATE KEY-----\nVEVTVCBLRVkgT05MWQ==\n-----END OPENSSH PRIVATE KEY-----\n"; got != want {
		t.Errorf("host key = %q, want %q", got, want)
	}
	if got := read("ssh_host_ed25519_key.pub"); !strings.HasPrefix(got, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRW8Zrj") {
		t.Errorf("host public key = %q", got)
	}
}
