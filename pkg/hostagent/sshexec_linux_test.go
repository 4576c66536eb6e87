package hostagent

import (
	"bytes"
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/guestagent"
	"github.com/limactl/limactl/pkg/portfwd"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/sshutil/sshtest"
)

// startTestTunnel runs the real guest agent's tunnel in-process over a socketpair and returns the
// host's end once it is up.
func startTestTunnel(t *testing.T) *portfwd.Tunnel {
	t.Helper()
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		defer f.Close()
		c, err := net.FileConn(f)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	host, g := conn(fds[0]), conn(fds[1])
	ctx, cancel := context.WithCancel(context.Background())
	go func() { _ = guestagent.ServeTunnelConn(ctx, g) }()
	var once atomic.Bool
	tun := portfwd.NewTunnel(func(ctx context.Context) (net.Conn, error) {
		if once.Swap(true) {
			<-ctx.Done()
			return nil, ctx.Err()
		}
		return host, nil
	})
	done := make(chan struct{})
	go func() { defer close(done); _ = tun.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for i := 0; !tun.Up(); i++ {
		if i > 1000 {
			t.Fatal("the tunnel never came up")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return tun
}

// TestSSHMuxExecThroughGuestAgent: once the mux has learnt the session's environment (on the
// first command, which goes to sshd), commands without a terminal run through the guest agent:
// no new SSH session reaches the guest, and output, stdin, exit codes and the environment are
// what sshd gives.
func TestSSHMuxExecThroughGuestAgent(t *testing.T) {
	tun := startTestTunnel(t)
	guest, o := startTestMuxWith(t, func(a *agent) { a.tunnel.Store(tun) })
	c := dialTestMux(t, o)
	direct := o
	direct.UnixSocket = "" // the fake guest's own sshd
	d := dialTestMux(t, direct)
	ctx := context.Background()
	run := func(c *ssh.Client, args []string, stdin string) (string, string, int) {
		t.Helper()
		var out, errOut bytes.Buffer
		code, err := sshutil.RunShell(ctx, c, sshutil.ShellOptions{Args: args, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errOut})
		if err != nil {
			t.Fatalf("%q: %v", args, err)
		}
		return out.String(), errOut.String(), code
	}
	waitExecBase(t, c, guest)
	before := guest.Sessions()
	for _, tc := range []struct {
		args  []string
		stdin string
	}{
		{[]string{"sh", "-c", "cat; echo oops >&2; exit 7"}, "piped\n"},
		{[]string{"sh", "-c", "env | grep -v -e '^_=' -e '^SHLVL=' -e '^PWD=' | LC_ALL=C sort; pwd; umask"}, ""},
		{[]string{"no-such-command-here"}, ""},
		{[]string{"sh", "-c", "kill -TERM $$"}, ""},
	} {
		out, errOut, code := run(c, tc.args, tc.stdin)
		sOut, sErr, sCode := run(d, tc.args, tc.stdin)
		if out != sOut || errOut != sErr || code != sCode {
			t.Errorf("%q: through the guest agent %q %q %d; through sshd %q %q %d", tc.args, out, errOut, code, sOut, sErr, sCode)
		}
	}
	if n := guest.Sessions() - before; n != 4 {
		t.Errorf("%d sessions reached the guest's sshd for 4 commands through the mux and 4 direct, want only the 4 direct", n)
	}
	// A command that is not a line of `limactl shell` (guest-install's, copy's) keeps sshd.
	before = guest.Sessions()
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Run("true"); err != nil {
		t.Errorf("a plain command: %v", err)
	}
	if guest.Sessions() != before+1 {
		t.Errorf("a plain command did not go to sshd")
	}
	// A large output and stdin cross intact.
	big := strings.Repeat("0123456789abcdef", 1<<14)
	if out, _, code := run(c, []string{"cat"}, big); out != big || code != 0 {
		t.Errorf("cat of %d bytes: %d bytes back, exit %d", len(big), len(out), code)
	}
}

// yesReader is `yes`: stdin without end.
type yesReader struct{}

func (yesReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'y'
	}
	return len(p), nil
}

// TestSSHMuxExecSignalBehindStdin: `yes | limactl shell VM sleep ...`, then Ctrl-C (RunShell's
// context ends: a "signal" TERM request, then the channel closes). The command does not read its
// stdin, so its pipe and the stream's window fill and the stdin frames stop; the signal must still
// reach it (signals travel on streams of their own) and the client must not hang.
func TestSSHMuxExecSignalBehindStdin(t *testing.T) {
	tun := startTestTunnel(t)
	guest, o := startTestMuxWith(t, func(a *agent) { a.tunnel.Store(tun) })
	c := dialTestMux(t, o)
	waitExecBase(t, c, guest)
	before := guest.Sessions()
	const mark = "25.4321"
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	begin := time.Now()
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = sshutil.RunShell(ctx, c, sshutil.ShellOptions{Args: []string{"sleep", mark}, Stdin: yesReader{}, Stdout: io.Discard})
	}()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Fatalf("limactl shell still hangs %v after Ctrl-C", time.Since(begin))
	}
	if guest.Sessions() != before {
		t.Fatal("the command went to sshd, not through the guest agent")
	}
	// The fake guest's /bin/sh (dash) runs the command as its child: the TERM ends the shell that
	// the guest agent started (the process sshd would have signalled), and the orphaned sleep,
	// which would outlive sshd's shell the same way, is ended here.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var shells []string
		procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
		for _, p := range procs {
			b, _ := os.ReadFile(p)
			args := strings.Split(string(b), "\x00")
			if !strings.Contains(string(b), mark) {
				continue
			}
			if args[0] == "sleep" {
				pid, _ := strconv.Atoi(strings.Split(p, "/")[2])
				_ = syscall.Kill(pid, syscall.SIGKILL)
				continue
			}
			shells = append(shells, p)
		}
		if len(shells) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the command's shell %v still runs after the client's TERM", shells)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitExecBase runs commands until they stop reaching the fake guest's sshd: the mux has learnt
// its session (the first command goes to sshd meanwhile).
func waitExecBase(t *testing.T, c *ssh.Client, guest interface{ Sessions() int }) {
	t.Helper()
	for i, last := 0, -1; ; i++ {
		if code, err := sshutil.RunShell(context.Background(), c, sshutil.ShellOptions{Args: []string{"true"}}); err != nil || code != 0 {
			t.Fatalf("true: %d, %v", code, err)
		}
		n := guest.Sessions()
		if n == last {
			return
		}
		last = n
		if i > 50 {
			t.Fatal("commands never stopped going to sshd")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSSHMuxExecOff: with LIMA_GUESTAGENT_EXEC=0 every command goes to sshd.
func TestSSHMuxExecOff(t *testing.T) {
	t.Setenv("LIMA_GUESTAGENT_EXEC", "0")
	tun := startTestTunnel(t)
	guest, o := startTestMuxWith(t, func(a *agent) { a.tunnel.Store(tun) })
	c := dialTestMux(t, o)
	for range 5 {
		if code, err := sshutil.RunShell(context.Background(), c, sshutil.ShellOptions{Args: []string{"true"}}); err != nil || code != 0 {
			t.Fatalf("true: %d, %v", code, err)
		}
	}
	if n := guest.Sessions(); n < 5 {
		t.Errorf("%d sessions reached the guest's sshd for 5 commands, want 5", n)
	}
}

// TestCaptureExecBaseTimeout: a guest whose session never ends does not hold the goroutine that
// learns the session's environment.
func TestCaptureExecBaseTimeout(t *testing.T) {
	defer func(d time.Duration) { execBaseTimeout = d }(execBaseTimeout)
	execBaseTimeout = 300 * time.Millisecond
	hang := filepath.Join(t.TempDir(), "hang")
	if err := os.WriteFile(hang, []byte("#!/bin/sh\nexec sleep 30\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	guest := sshtest.Start(t, sshtest.Options{Shell: hang})
	dir := t.TempDir()
	if err := sshutil.WriteKnownHosts(dir, "vm", guest.Port, guest.HostSigner.PublicKey()); err != nil {
		t.Fatal(err)
	}
	c := dialTestMux(t, sshutil.DialOptions{
		Port: guest.Port, User: "tester", Signer: guest.ClientSigner,
		KnownHostsFile: sshutil.KnownHostsFile(dir), HostKeyAlias: sshutil.HostKeyAlias("vm"),
	})
	begin := time.Now()
	if b, err := captureExecBase(c); err == nil {
		t.Errorf("learnt %+v from a session that never ended", b)
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
}
