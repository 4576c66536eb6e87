package hostagent

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/sshutil/sshtest"
	"github.com/limactl/limactl/pkg/store"
)

// pfDriver is a driver whose only working method is GuestAgentConn.
type pfDriver struct {
	driver.Driver
	err   error
	calls int
}

func (d *pfDriver) GuestAgentConn(context.Context) (net.Conn, error) {
	d.calls++
	if d.err != nil {
		return nil, d.err
	}
	a, b := net.Pipe()
	b.Close()
	return a, nil
}

var errPFNoSSH = errors.New("no SSH in this test")

func pfNoSSH(context.Context) (*ssh.Client, error) { return nil, errPFNoSSH }

func pfPtr[T any](v T) *T { return &v }

func TestPortForwardOptions(t *testing.T) {
	rules := []limayaml.PortForward{{GuestPort: 80, HostPort: 8080}}
	t.Run("plain", func(t *testing.T) {
		o := portForwardOptions(&limayaml.LimaYAML{Plain: pfPtr(true), PortForwards: rules}, 60022, &pfDriver{}, pfNoSSH)
		if o.GuestAgent != nil || o.GuestAgentPath != "" {
			t.Errorf("plain mode uses the guest agent: %+v", o)
		}
		if len(o.Rules) != 1 || o.SSHLocalPort != 60022 {
			t.Errorf("rules or SSH port lost: %+v", o)
		}
	})
	t.Run("not Linux", func(t *testing.T) {
		o := portForwardOptions(&limayaml.LimaYAML{OS: pfPtr(limayaml.DARWIN)}, 60022, &pfDriver{}, pfNoSSH)
		if o.GuestAgent != nil {
			t.Error("a macOS guest uses the Linux guest agent")
		}
	})
	t.Run("driver channel", func(t *testing.T) {
		d := &pfDriver{}
		o := portForwardOptions(&limayaml.LimaYAML{GuestInstallPrefix: pfPtr("/opt/lima")}, 60022, d, pfNoSSH)
		if o.GuestAgentPath != "/opt/lima/bin/lima-guestagent" {
			t.Errorf("GuestAgentPath = %q", o.GuestAgentPath)
		}
		c, err := o.GuestAgent(context.Background())
		if err != nil || d.calls != 1 {
			t.Fatalf("GuestAgent = %v, %v after %d driver calls", c, err, d.calls)
		}
		c.Close()
	})
	t.Run("default prefix, driver not running", func(t *testing.T) {
		d := &pfDriver{err: driver.ErrNotRunning}
		o := portForwardOptions(&limayaml.LimaYAML{}, 60022, d, pfNoSSH)
		if o.GuestAgentPath != "/usr/local/bin/lima-guestagent" {
			t.Errorf("GuestAgentPath = %q", o.GuestAgentPath)
		}
		if _, err := o.GuestAgent(context.Background()); !errors.Is(err, driver.ErrNotRunning) {
			t.Errorf("GuestAgent = %v, want the driver's error", err)
		}
	})
	t.Run("no driver channel: over SSH", func(t *testing.T) {
		d := &pfDriver{err: driver.ErrUnsupported}
		o := portForwardOptions(&limayaml.LimaYAML{}, 60022, d, pfNoSSH)
		if _, err := o.GuestAgent(context.Background()); !errors.Is(err, errPFNoSSH) {
			t.Errorf("GuestAgent = %v, want it to try SSH", err)
		}
	})
}

func TestGuestAgentBinaryUnder(t *testing.T) {
	prefix := t.TempDir()
	if _, err := guestAgentBinaryUnder(prefix, limayaml.X8664); err == nil {
		t.Error("found a guest agent in an empty prefix")
	}
	want := filepath.Join(prefix, "share", "lima", "lima-guestagent.Linux-x86_64")
	if err := os.MkdirAll(filepath.Dir(want), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(want, []byte("agent"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := guestAgentBinaryUnder(prefix, limayaml.X8664); err != nil || got != want {
		t.Errorf("guestAgentBinaryUnder = %q, %v; want %q", got, err, want)
	}
}

// TestStartPortForwarding runs the glue as the host agent does, against the fake guest over SSH
// (plain mode: static rules only): the static forward carries a connection, and its event reaches
// the event log.
func TestStartPortForwarding(t *testing.T) {
	srv := sshtest.Start(t, sshtest.Options{})
	dir := t.TempDir()
	srv.WriteKnownHosts(t, sshutil.KnownHostsFile(dir), "[127.0.0.1]:"+strconv.Itoa(srv.Port))

	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer echo.Close()
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); _ = c.Close() }()
		}
	}()
	hostLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hostPort := hostLn.Addr().(*net.TCPAddr).Port
	hostLn.Close()

	a := &agent{
		inst: &store.Instance{Name: "pf", Dir: dir, Config: &limayaml.LimaYAML{
			Plain: pfPtr(true),
			PortForwards: []limayaml.PortForward{{
				GuestPort: echo.Addr().(*net.TCPAddr).Port, HostPort: hostPort, Static: true,
			}},
		}},
		sshPort: srv.Port,
		user:    "u",
		signer:  srv.ClientSigner,
		drv:     &pfDriver{err: driver.ErrUnsupported},
	}
	var log pfSyncBuffer
	ew := events.NewWriter(&log)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { a.startPortForwarding(ctx, ew); close(done) }()
	defer func() { cancel(); <-done; a.closeSSH() }()

	hostAddr := "127.0.0.1:" + strconv.Itoa(hostPort)
	var c net.Conn
	for {
		if c, err = net.Dial("tcp", hostAddr); err == nil {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	defer c.Close()
	if _, err := c.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("through the static forward: %q, %v", buf, err)
	}
	if got := log.String(); !strings.Contains(got, `"portForward":{"type":"forwarding","protocol":"tcp"`) || !strings.Contains(got, hostAddr) {
		t.Errorf("event log lacks the forwarding event:\n%s", got)
	}
}

// pfSyncBuffer is a bytes.Buffer safe for the writer's and the test's goroutines.
type pfSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *pfSyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *pfSyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestSeedGuestAgent(t *testing.T) {
	for name, y := range map[string]*limayaml.LimaYAML{
		"plain":  {Plain: pfPtr(true)},
		"darwin": {OS: pfPtr(limayaml.DARWIN)},
		// The test binary has no share/lima next to it: a warning, no agent.
		"missing": {},
	} {
		if got := seedGuestAgent(&store.Instance{Arch: limayaml.X8664, Config: y}); got != "" {
			t.Errorf("%s: seedGuestAgent = %q, want none", name, got)
		}
	}
}
