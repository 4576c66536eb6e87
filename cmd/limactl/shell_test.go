package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/iostreams"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/sshutil/sshtest"
)

// fakeRunningInstance creates $LIMA_HOME/NAME as a running qemu instance (pid files naming a
// stand-in process) whose SSH port is an sshtest server, with ssh.config and the pinned host key written
// as the host agent writes them. mountDir is mounted at the same path in the "guest".
func fakeRunningInstance(t *testing.T, name, mountDir string) *sshtest.Server {
	t.Helper()
	limaHome, ok := os.LookupEnv("LIMA_HOME")
	if !ok {
		t.Fatal("set LIMA_HOME first")
	}
	user, err := sshutil.EnsureUserKey(filepath.Join(limaHome, "_config"))
	if err != nil {
		t.Fatal(err)
	}
	srv := sshtest.Start(t, sshtest.Options{AuthorizedKeys: []ssh.PublicKey{user.PublicKey()}})
	dir := filepath.Join(limaHome, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	yaml := "vmType: qemu\nmounts:\n- location: " + strconv.Quote(mountDir) + "\n"
	// A stand-in for the host agent and QEMU: limactl believes a pid file only when its process names
	// the instance directory (here as argv[0], the way `exec -a` sets it).
	proc := exec.Command("sleep", "3600")
	proc.Args[0] = filepath.Join(dir, "qemu-system-x86_64")
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = proc.Process.Kill(); _ = proc.Wait() })
	pid := strconv.Itoa(proc.Process.Pid)
	for f, content := range map[string]string{"lima.yaml": yaml, "ha.pid": pid, "qemu.pid": pid} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := sshutil.WriteKnownHosts(dir, name, srv.Port, srv.HostSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if err := sshutil.WriteSSHConfig(dir, name, "tester", srv.Port, filepath.Join(limaHome, "_config", "user"), sshutil.KnownHostsFile(dir)); err != nil {
		t.Fatal(err)
	}
	return srv
}

func fakeStoppedInstance(t *testing.T, name string) {
	t.Helper()
	dir := filepath.Join(os.Getenv("LIMA_HOME"), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lima.yaml"), []byte("vmType: qemu\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestShellCommandParsesArgs(t *testing.T) {
	tests := []struct {
		args []string
		want ShellOptions
	}{
		{[]string{"vm"}, ShellOptions{Instance: "vm", Args: []string{}}},
		{[]string{"vm", "ls", "-la"}, ShellOptions{Instance: "vm", Args: []string{"ls", "-la"}}},
		{[]string{"--workdir", "/tmp", "--shell", "/bin/bash", "vm", "echo", "--shell"},
			ShellOptions{Instance: "vm", Workdir: "/tmp", Shell: "/bin/bash", Args: []string{"echo", "--shell"}}},
		{[]string{"--instance", "vm", "uname", "-a"}, ShellOptions{Instance: "vm", Args: []string{"uname", "-a"}}},
		{[]string{"--start", "--preserve-env", "vm"}, ShellOptions{Instance: "vm", Start: true, PreserveEnv: true, Args: []string{}}},
		// `limactl shell vm -- make test`, as CI scripts write it: the -- is not part of the command.
		{[]string{"vm", "--", "make", "test"}, ShellOptions{Instance: "vm", Args: []string{"make", "test"}}},
		{[]string{"--workdir", "/w", "--", "vm", "ls"}, ShellOptions{Instance: "vm", Workdir: "/w", Args: []string{"ls"}}},
		{[]string{"--instance", "vm", "--", "echo", "--", "x"}, ShellOptions{Instance: "vm", Args: []string{"echo", "--", "x"}}},
	}
	for _, tt := range tests {
		var got *ShellOptions
		cmd := newShellCommand(nil, func(o *ShellOptions) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		if err := cmd.Execute(); err != nil {
			t.Fatalf("%v: %v", tt.args, err)
		}
		if d := cmp.Diff(&tt.want, got); d != "" {
			t.Errorf("%v (-want +got):\n%s", tt.args, d)
		}
	}
	cmd := newShellCommand(nil, func(*ShellOptions) error { return nil })
	cmd.SilenceUsage, cmd.SilenceErrors = true, true
	cmd.SetArgs(nil)
	if err := cmd.Execute(); err == nil {
		t.Error("shell without INSTANCE succeeded")
	}
}

func TestShellCommand(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	mount := t.TempDir()
	srv := fakeRunningInstance(t, "vm", mount)
	fakeStoppedInstance(t, "off")
	run := func(in string, o ShellOptions) (string, string, error) {
		ios, stdin, stdout, stderr := iostreams.Test()
		stdin.WriteString(in)
		o.IO = ios
		err := runShell(context.Background(), &o)
		return stdout.String(), stderr.String(), err
	}

	if out, _, err := run("hi\n", ShellOptions{Instance: "vm", Args: []string{"cat"}}); err != nil || out != "hi\n" {
		t.Errorf("echo hi | limactl shell vm cat = %q, %v", out, err)
	}
	out, _, err := run("", ShellOptions{Instance: "vm", Args: []string{"sh", "-c", "echo $0 \"$1\"; exit 3", "x", "a 'b' $c"}})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 3 || out != "x a 'b' $c\n" {
		t.Errorf("exit 3: out %q, err %v", out, err)
	}

	// The host cwd is used when it is inside a mount, else the guest home.
	sub := filepath.Join(mount, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(sub)
	if out, _, err := run("", ShellOptions{Instance: "vm", Args: []string{"pwd"}}); err != nil || out != sub+"\n" {
		t.Errorf("pwd inside a mount = %q, %v; want %s", out, err, sub)
	}
	t.Chdir(t.TempDir())
	if out, _, err := run("", ShellOptions{Instance: "vm", Args: []string{"pwd"}}); err != nil || out != srv.Home+"\n" {
		t.Errorf("pwd outside mounts = %q, %v; want %s", out, err, srv.Home)
	}
	if _, _, err := run("", ShellOptions{Instance: "vm", Workdir: "/no/such/dir", Args: []string{"pwd"}}); !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("--workdir /no/such/dir: %v, want exit status 1", err)
	}

	t.Setenv("LIMA_SHELLENV_BLOCK", "+SECRET*")
	t.Setenv("SECRET_TOKEN", "x")
	t.Setenv("MY_VAR", "my value")
	if out, _, err := run("", ShellOptions{Instance: "vm", PreserveEnv: true, Args: []string{"sh", "-c", "echo \"$MY_VAR|$SECRET_TOKEN\""}}); err != nil || out != "my value|\n" {
		t.Errorf("--preserve-env = %q, %v", out, err)
	}

	// An SSH-level failure (here a changed guest host key) exits with 255, as ssh does.
	other := sshtest.Start(t, sshtest.Options{})
	if err := sshutil.WriteKnownHosts(filepath.Join(os.Getenv("LIMA_HOME"), "vm"), "vm", 0, other.HostSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := run("", ShellOptions{Instance: "vm", Args: []string{"true"}}); !errors.As(err, &ee) || ee.code != 255 {
		t.Errorf("changed host key: %v, want exit status 255", err)
	}

	for _, tt := range []struct {
		o    ShellOptions
		want string
	}{
		{ShellOptions{Instance: "off"}, "instance `off` is stopped, run `limactl start off` to start the instance"},
		// --start goes through the start command's hook, which fails here before booting anything:
		// the fake instance has no image.
		{ShellOptions{Instance: "off", Start: true}, "cannot prepare instance `off`"},
		{ShellOptions{Instance: "ghost"}, "instance `ghost` does not exist, run `limactl create --name=ghost` to create a new instance"},
	} {
		if _, _, err := run("", tt.o); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err %v, want %q", tt.o, err, tt.want)
		}
	}
}

func TestCopyCommand(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	srv := fakeRunningInstance(t, "vm", t.TempDir())
	fakeStoppedInstance(t, "off")
	host := t.TempDir()
	if err := os.WriteFile(filepath.Join(host, "a.txt"), []byte("A"), 0o640); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) (string, error) {
		ios, _, stdout, _ := iostreams.Test()
		cmd := newCopyCommand(ios, nil)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetArgs(args)
		err := cmd.Execute()
		return stdout.String(), err
	}
	out, err := run("-v", "--backend", "scp", filepath.Join(host, "a.txt"), "vm:b.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(srv.Home, "b.txt")); string(got) != "A" || !strings.Contains(out, "vm:b.txt") {
		t.Errorf("copy to the guest: file %q, verbose %q", got, out)
	}
	if _, err := run("vm:b.txt", filepath.Join(host, "c.txt")); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(host, "c.txt")); string(got) != "A" {
		t.Errorf("copy from the guest: %q", got)
	}
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"off:x", host}, "is stopped"},
		{[]string{filepath.Join(host, "a.txt"), filepath.Join(host, "z")}, "INSTANCE:PATH"},
		{[]string{"--backend", "ftp", "vm:x", host}, "unknown --backend"},
		{[]string{"vm:missing", host}, "vm:missing"},
	} {
		if _, err := run(tt.args...); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("copy %v: err %v, want %q", tt.args, err, tt.want)
		}
	}
}

func TestShowSSHCommand(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	srv := fakeRunningInstance(t, "vm", t.TempDir())
	run := func(args ...string) (string, error) {
		ios, _, stdout, _ := iostreams.Test()
		cmd := newShowSSHCommand(ios, nil)
		cmd.SilenceUsage, cmd.SilenceErrors = true, true
		cmd.SetArgs(args)
		err := cmd.Execute()
		return stdout.String(), err
	}
	out, err := run("vm")
	if err != nil || !strings.HasPrefix(out, "ssh -o ") || !strings.HasSuffix(out, " lima-vm\n") || !strings.Contains(out, "-o Port="+strconv.Itoa(srv.Port)) {
		t.Errorf("show-ssh vm = %q, %v", out, err)
	}
	out, err = run("-f", "config", "vm")
	if err != nil || !strings.HasPrefix(out, "Host lima-vm\n  IdentityFile ") {
		t.Errorf("show-ssh -f config vm = %q, %v", out, err)
	}
	if _, err := run("-f", "yaml", "vm"); err == nil {
		t.Error("show-ssh -f yaml succeeded")
	}
}

// TestLimaWrapper runs the `lima` wrapper script with the test binary as limactl (see TestMain),
// against a fake running instance "default": stdin, arguments and the exit code pass through.
func TestLimaWrapper(t *testing.T) {
	limactl, err := exec.LookPath("limactl")
	if err != nil {
		t.Skip("the test binary is not on $PATH as limactl:", err)
	}
	t.Setenv("LIMA_HOME", t.TempDir())
	mount := t.TempDir()
	fakeRunningInstance(t, "default", mount)
	wrapper, err := filepath.Abs(filepath.Join("..", "lima"))
	if err != nil {
		t.Fatal(err)
	}
	lima := func(stdin string, env []string, args ...string) (string, int) {
		cmd := exec.Command("sh", append([]string{wrapper}, args...)...)
		cmd.Dir = mount
		cmd.Env = append(os.Environ(), append([]string{"LIMACTL=" + limactl}, env...)...)
		cmd.Stdin = strings.NewReader(stdin)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if stderr.Len() > 0 {
			t.Logf("stderr: %s", stderr.String())
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	if out, code := lima("hi\n", nil, "cat"); out != "hi\n" || code != 0 {
		t.Errorf("echo hi | lima cat = %q, exit %d", out, code)
	}
	if out, code := lima("", nil, "sh", "-c", `echo "$1"; pwd; exit 3`, "x", "a 'b' $c"); out != "a 'b' $c\n"+mount+"\n" || code != 3 {
		t.Errorf("lima sh -c ... = %q, exit %d", out, code)
	}
	if out, code := lima("", []string{"LIMA_WORKDIR=/"}, "pwd"); out != "/\n" || code != 0 {
		t.Errorf("LIMA_WORKDIR=/ lima pwd = %q, exit %d", out, code)
	}
	if _, code := lima("", []string{"LIMA_INSTANCE=nope"}, "true"); code != 1 {
		t.Errorf("LIMA_INSTANCE=nope lima true: exit %d, want 1", code)
	}
}
