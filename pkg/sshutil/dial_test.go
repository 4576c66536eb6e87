package sshutil

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/sshutil/sshtest"
)

// fakeGuest starts an sshtest server and pins its key for instance "vm" in a fresh instance dir.
func fakeGuest(t testing.TB) (*sshtest.Server, DialOptions) {
	t.Helper()
	srv := sshtest.Start(t, sshtest.Options{})
	instDir := t.TempDir()
	if err := WriteKnownHosts(instDir, "vm", 0, srv.HostSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	return srv, DialOptions{
		Port:           srv.Port,
		User:           "tester",
		Signer:         srv.ClientSigner,
		KnownHostsFile: KnownHostsFile(instDir),
		HostKeyAlias:   HostKeyAlias("vm"),
	}
}

func dial(t testing.TB, o DialOptions) *ssh.Client {
	t.Helper()
	c, err := Dial(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestDialHostKeyPinning(t *testing.T) {
	srv, opts := fakeGuest(t)
	dial(t, opts) // the alias line matches

	t.Run("address line without alias", func(t *testing.T) {
		o := opts
		o.HostKeyAlias = ""
		o.KnownHostsFile = filepath.Join(t.TempDir(), "kh")
		srv.WriteKnownHosts(t, o.KnownHostsFile, "[127.0.0.1]:"+itoa(srv.Port))
		dial(t, o)
	})
	t.Run("alias absent falls back to the address", func(t *testing.T) {
		o := opts
		o.KnownHostsFile = filepath.Join(t.TempDir(), "kh")
		srv.WriteKnownHosts(t, o.KnownHostsFile, "[127.0.0.1]:"+itoa(srv.Port))
		dial(t, o)
	})
	t.Run("changed key", func(t *testing.T) {
		other := sshtest.Start(t, sshtest.Options{})
		o := opts
		o.KnownHostsFile = filepath.Join(t.TempDir(), "kh")
		other.WriteKnownHosts(t, o.KnownHostsFile, "lima-vm")
		_, err := Dial(context.Background(), o)
		if !errors.Is(err, ErrHostKeyChanged) || !strings.Contains(err.Error(), "limactl stop vm && limactl start vm") {
			t.Fatalf("err = %v, want ErrHostKeyChanged with a recovery hint", err)
		}
	})
	t.Run("unknown host", func(t *testing.T) {
		o := opts
		o.KnownHostsFile = filepath.Join(t.TempDir(), "kh")
		srv.WriteKnownHosts(t, o.KnownHostsFile, "lima-other")
		_, err := Dial(context.Background(), o)
		if !errors.Is(err, ErrHostKeyUnknown) {
			t.Fatalf("err = %v, want ErrHostKeyUnknown", err)
		}
	})
	t.Run("missing known_hosts", func(t *testing.T) {
		o := opts
		o.KnownHostsFile = filepath.Join(t.TempDir(), "absent")
		_, err := Dial(context.Background(), o)
		if !errors.Is(err, ErrHostKeyUnknown) {
			t.Fatalf("err = %v, want ErrHostKeyUnknown", err)
		}
	})
	t.Run("wrong client key", func(t *testing.T) {
		o := opts
		o.Signer = sshtest.Start(t, sshtest.Options{}).ClientSigner
		if _, err := Dial(context.Background(), o); err == nil || !strings.Contains(err.Error(), "unable to authenticate") {
			t.Fatalf("err = %v, want an authentication failure", err)
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Dial(ctx, opts); err == nil {
			t.Fatal("Dial with a cancelled context succeeded")
		}
	})
}

// TestOpenSSHUsesSSHConfig checks that the written ssh.config, the user key and the alias-keyed
// known_hosts work for OpenSSH's own client: `ssh -F <instdir>/ssh.config lima-NAME`.
func TestOpenSSHUsesSSHConfig(t *testing.T) {
	sshBin, err := exec.LookPath("ssh")
	if err != nil {
		t.Skip("no ssh binary")
	}
	configDir := t.TempDir()
	user, err := EnsureUserKey(configDir)
	if err != nil {
		t.Fatal(err)
	}
	srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{user.PublicKey()}})
	instDir, err := os.MkdirTemp("", "lima-ssh") // short: the ControlPath must fit a socket name
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command(sshBin, "-F", SSHConfigFile(instDir), "-O", "exit", "lima-vm").Run()
		os.RemoveAll(instDir)
	})
	if err := WriteKnownHosts(instDir, "vm", 0, srv.HostSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if err := WriteSSHConfig(instDir, "vm", "tester", srv.Port, filepath.Join(configDir, "user"), KnownHostsFile(instDir)); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		cmd := exec.Command(sshBin, append([]string{"-F", SSHConfigFile(instDir), "-o", "ControlMaster=no", "lima-vm"}, args...)...)
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no ~/.ssh/config or known_hosts of the user
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("echo", "hello")
	if err != nil || out != "hello\n" {
		t.Fatalf("ssh -F ssh.config lima-vm echo hello: %v\n%s", err, out)
	}
	// A different key pinned for the alias makes OpenSSH refuse, as strict checking must.
	other := sshtest.Start(t, sshtest.Options{})
	if err := WriteKnownHosts(instDir, "vm", 0, other.HostSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if out, err := run("true"); err == nil {
		t.Fatalf("ssh accepted a changed host key:\n%s", out)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestKnownHostsLine(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	key := srv.HostSigner.PublicKey()
	b64 := strings.Fields(string(ssh.MarshalAuthorizedKey(key)))[1]
	if got, want := KnownHostsLine("vm", 0, key), "lima-vm ssh-ed25519 "+b64+"\n"; got != want {
		t.Errorf("KnownHostsLine(vm, 0) = %q, want %q", got, want)
	}
	if got, want := KnownHostsLine("vm", 60022, key), "lima-vm,[127.0.0.1]:60022 ssh-ed25519 "+b64+"\n"; got != want {
		t.Errorf("KnownHostsLine(vm, 60022) = %q, want %q", got, want)
	}
	// Both patterns are honoured by Dial: with the alias, and without it.
	dir := t.TempDir()
	if err := WriteKnownHosts(dir, "vm", srv.Port, key); err != nil {
		t.Fatal(err)
	}
	for _, alias := range []string{"lima-vm", ""} {
		c, err := Dial(context.Background(), DialOptions{Port: srv.Port, Signer: srv.ClientSigner, KnownHostsFile: KnownHostsFile(dir), HostKeyAlias: alias})
		if err != nil {
			t.Fatalf("alias %q: %v", alias, err)
		}
		c.Close()
	}
}

func TestDialKeepAlive(t *testing.T) {
	srv, opts := fakeGuest(t)
	opts.KeepAlive = 5 * time.Millisecond
	c := dial(t, opts)
	for deadline := time.Now().Add(20 * time.Second); srv.KeepAlives() < 2; {
		if time.Now().After(deadline) {
			t.Fatal("no keepalives reached the server")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The keepalive loop ends with the connection.
	c.Close()
}
