package hostagent

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/cidata"
	"github.com/limactl/limactl/pkg/copytool"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/sshutil/sshtest"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// startTestMux starts a fake guest holding the instance's pinned host key, and the host agent's
// mux in front of it; it returns the guest and the client's dial options (through the mux).
func startTestMux(t *testing.T) (*sshtest.Server, sshutil.DialOptions) {
	t.Helper()
	return startTestMuxWith(t, nil)
}

// startTestMuxWith is startTestMux with a hook that sets up the host agent before the mux starts.
func startTestMuxWith(t *testing.T, setup func(*agent)) (*sshtest.Server, sshutil.DialOptions) {
	t.Helper()
	dir, a, guest := muxTestAgent(t)
	if setup != nil {
		setup(a)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	close(ready)
	up := make(chan struct{})
	done := a.startSSHMux(ctx, ready, up)
	sock := filepath.Join(dir, filenames.SSHMuxSock)
	select {
	case <-up:
	case <-time.After(time.Minute):
		t.Fatal("the mux never reported that it listens")
	}
	if _, err := os.Stat(sock); err != nil {
		t.Fatalf("the mux reported up but its socket is missing: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-done
		if _, err := os.Stat(sock); !os.IsNotExist(err) {
			t.Errorf("the mux socket is left after the stop (%v)", err)
		}
	})
	o := sshutil.DialOptions{
		Port: guest.Port, User: "tester", Signer: guest.ClientSigner,
		KnownHostsFile: sshutil.KnownHostsFile(dir), HostKeyAlias: sshutil.HostKeyAlias("vm"),
		UnixSocket: sock,
	}
	// The socket appears asynchronously; the first dial waits for it.
	for i := 0; ; i++ {
		if fi, err := os.Stat(sock); err == nil {
			if fi.Mode().Perm() != 0o600 {
				t.Errorf("socket mode = %v, want 0600", fi.Mode().Perm())
			}
			break
		}
		if i > 2000 {
			t.Fatal("the mux socket never appeared")
		}
		select {
		case <-done:
			t.Fatal("the mux ended before listening")
		default:
		}
		time.Sleep(5 * time.Millisecond)
	}
	return guest, o
}

// muxTestAgent returns a short temporary instance directory (the mux socket lives there) holding
// a pinned host key, and a host agent with a fake guest that presents that key.
func muxTestAgent(t *testing.T) (string, *agent, *sshtest.Server) {
	t.Helper()
	dir, err := os.MkdirTemp("", "mux")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	hk, err := cidata.EnsureHostKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	hostSigner, err := ssh.ParsePrivateKey(hk.Private)
	if err != nil {
		t.Fatal(err)
	}
	a, guest := fakeGuestAgent(t, dir, hostSigner)
	return dir, a, guest
}

func dialTestMux(t *testing.T, o sshutil.DialOptions) *ssh.Client {
	t.Helper()
	c, err := sshutil.Dial(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestSSHMuxShell runs commands through the mux: exit status, stdin EOF, separate stderr, and
// several sessions sharing one guest connection.
func TestSSHMuxShell(t *testing.T) {
	guest, o := startTestMux(t)
	c := dialTestMux(t, o)
	ctx := context.Background()

	code, err := sshutil.RunShell(ctx, c, sshutil.ShellOptions{Args: []string{"sh", "-c", "exit 7"}})
	if err != nil || code != 7 {
		t.Errorf("exit 7: code %d, %v", code, err)
	}
	var out, errOut bytes.Buffer
	code, err = sshutil.RunShell(ctx, c, sshutil.ShellOptions{
		Args:  []string{"sh", "-c", "cat; echo oops >&2"},
		Stdin: strings.NewReader("piped\n"), Stdout: &out, Stderr: &errOut,
	})
	if err != nil || code != 0 {
		t.Errorf("cat: code %d, %v", code, err)
	}
	if diff := cmp.Diff("piped\n", out.String()); diff != "" {
		t.Errorf("stdout (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff("oops\n", errOut.String()); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if n := guest.Sessions(); n < 2 {
		t.Errorf("guest sessions = %d, want 2 or more", n)
	}
}

// TestSSHMuxPTY checks that pty-req and window-change reach the guest.
func TestSSHMuxPTY(t *testing.T) {
	guest, o := startTestMux(t)
	c := dialTestMux(t, o)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if err := sess.RequestPty("xterm-mux", 30, 100, ssh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.WindowChange(40, 120); err != nil {
		t.Fatal(err)
	}
	if err := sess.Run("true"); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]sshtest.PTYRequest{{Term: "xterm-mux", Cols: 100, Rows: 30}}, guest.PTYRequests()); diff != "" {
		t.Errorf("PTY requests (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]sshtest.PTYRequest{{Cols: 120, Rows: 40}}, guest.WindowChanges()); diff != "" {
		t.Errorf("window changes (-want +got):\n%s", diff)
	}
}

// TestSSHMuxSFTP writes and reads a guest file over the sftp subsystem through the mux.
func TestSSHMuxSFTP(t *testing.T) {
	guest, o := startTestMux(t)
	c := dialTestMux(t, o)
	sc, err := copytool.NewSFTPClient(c)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	f, err := sc.Create(filepath.Join(guest.Home, "f"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("over sftp\n")); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(guest.Home, "f"))
	if err != nil || string(b) != "over sftp\n" {
		t.Errorf("guest file = %q, %v", b, err)
	}
}

// TestSSHMuxRefusals: a wrong key or user is refused, and a missing socket fails fast, so the
// client falls back to TCP.
func TestSSHMuxRefusals(t *testing.T) {
	_, o := startTestMux(t)
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	bad := o
	bad.Signer = other
	if c, err := sshutil.Dial(context.Background(), bad); err == nil {
		c.Close()
		t.Error("the mux accepted a foreign key")
	}
	bad = o
	bad.User = "root"
	if c, err := sshutil.Dial(context.Background(), bad); err == nil {
		c.Close()
		t.Error("the mux accepted another user")
	}
	bad = o
	bad.UnixSocket = filepath.Join(t.TempDir(), "none.sock")
	if c, err := sshutil.Dial(context.Background(), bad); err == nil {
		c.Close()
		t.Error("dialled a missing socket")
	}
	tcp := o
	tcp.UnixSocket = ""
	c := dialTestMux(t, tcp)
	if code, err := sshutil.RunShell(context.Background(), c, sshutil.ShellOptions{Args: []string{"sh", "-c", "exit 3"}}); err != nil || code != 3 {
		t.Errorf("over TCP: code %d, %v", code, err)
	}
}
