package hostagent

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/fake"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/portfwd"
)

func TestTunnelKnob(t *testing.T) {
	for v, off := range map[string]bool{"": false, "1": false, "true": false, "0": true, "false": true, " OFF ": true, "no": true} {
		t.Setenv(envknob.LimaGuestAgentTunnel.Name, v)
		if got := envknob.LimaGuestAgentTunnel.Off(); got != off {
			t.Errorf("%s=%q: off = %v, want %v", envknob.LimaGuestAgentTunnel.Name, v, got, off)
		}
	}
	t.Setenv(envknob.LimaGuestAgentTunnel.Name, "0")
	if startTunnel(context.Background(), fake.New(driver.Config{InstanceDir: t.TempDir()})) != nil {
		t.Error("the knob did not turn the tunnel off")
	}
}

// TestTunnelWithoutChannel: a driver without the channel (the fake, vz, wsl2) leaves forwards on
// SSH: the tunnel never comes up, and dialling through it says so.
func TestTunnelWithoutChannel(t *testing.T) {
	t.Setenv(envknob.LimaGuestAgentTunnel.Name, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tun := startTunnel(ctx, fake.New(driver.Config{InstanceDir: t.TempDir()}))
	if tun == nil {
		t.Fatal("startTunnel returned nil without the knob")
	}
	time.Sleep(50 * time.Millisecond)
	if tun.Up() {
		t.Error("a tunnel came up on a driver without the channel")
	}
	if _, err := tun.DialGuest(ctx, "tcp", "127.0.0.1:80"); !errors.Is(err, portfwd.ErrTunnelDown) {
		t.Errorf("DialGuest: %v, want ErrTunnelDown", err)
	}
}
