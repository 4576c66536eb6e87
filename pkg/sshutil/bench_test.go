package sshutil

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/sshutil/sshtest"
)

// BenchmarkShellTrue measures `limactl shell vm true` against the in-process fake guest: a fresh
// dial plus exec, and an exec on an open connection. When an `ssh` binary is installed it also
// runs `ssh -F ssh.config lima-vm true` against the same server, without and with a ControlMaster,
// for comparison. Against a real guest, compare `limactl shell NAME true` with
// `ssh -F ~/.lima/NAME/ssh.config lima-NAME true` the same way.
func BenchmarkShellTrue(b *testing.B) {
	configDir := b.TempDir()
	user, err := EnsureUserKey(configDir)
	if err != nil {
		b.Fatal(err)
	}
	srv := sshtest.Start(b, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{user.PublicKey()}})
	instDir, err := os.MkdirTemp("", "lima-bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(instDir) })
	if err := WriteKnownHosts(instDir, "vm", 0, srv.HostSigner.PublicKey()); err != nil {
		b.Fatal(err)
	}
	opts := DialOptions{Port: srv.Port, User: "tester", Signer: user, KnownHostsFile: KnownHostsFile(instDir), HostKeyAlias: HostKeyAlias("vm")}
	o := ShellOptions{Args: []string{"true"}}

	b.Run("dial+exec", func(b *testing.B) {
		for b.Loop() {
			c, err := Dial(context.Background(), opts)
			if err != nil {
				b.Fatal(err)
			}
			if code, err := RunShell(context.Background(), c, o); code != 0 || err != nil {
				b.Fatal(code, err)
			}
			c.Close()
		}
	})
	b.Run("exec", func(b *testing.B) {
		c := dial(b, opts)
		for b.Loop() {
			if code, err := RunShell(context.Background(), c, o); code != 0 || err != nil {
				b.Fatal(code, err)
			}
		}
	})

	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		return
	}
	if err := WriteSSHConfig(instDir, "vm", "tester", srv.Port, filepath.Join(configDir, "user"), KnownHostsFile(instDir)); err != nil {
		b.Fatal(err)
	}
	home := b.TempDir()
	openssh := func(b *testing.B, extra ...string) {
		args := append([]string{"-F", SSHConfigFile(instDir)}, extra...)
		args = append(args, "lima-vm", ShellScript(o))
		for b.Loop() {
			cmd := exec.Command(sshBin, args...)
			cmd.Env = append(os.Environ(), "HOME="+home)
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("%v: %s", err, out)
			}
		}
	}
	b.Run("openssh", func(b *testing.B) { openssh(b, "-o", "ControlMaster=no") })
	b.Run("openssh-controlmaster", func(b *testing.B) {
		b.Cleanup(func() {
			_ = exec.Command(sshBin, "-F", SSHConfigFile(instDir), "-O", "exit", "lima-vm").Run()
		})
		openssh(b)
	})
}
