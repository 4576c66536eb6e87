package hostagent

import (
	"bytes"
	"context"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/guestagent"
	"github.com/limactl/limactl/pkg/portfwd"
	"github.com/limactl/limactl/pkg/sshutil"
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
	// The first command goes to sshd and starts learning the session; wait until the sessions
	// stop growing.
	for i, last := 0, -1; ; i++ {
		run(c, []string{"true"}, "")
		n := guest.Sessions()
		if n == last {
			break
		}
		last = n
		if i > 50 {
			t.Fatal("commands never stopped going to sshd")
		}
		time.Sleep(20 * time.Millisecond)
	}
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
	// A large output and stdin cross intact.
	big := strings.Repeat("0123456789abcdef", 1<<14)
	if out, _, code := run(c, []string{"cat"}, big); out != big || code != 0 {
		t.Errorf("cat of %d bytes: %d bytes back, exit %d", len(big), len(out), code)
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
