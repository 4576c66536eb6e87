package hostagent

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
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
