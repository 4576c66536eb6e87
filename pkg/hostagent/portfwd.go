package hostagent

// Port forwarding: the glue between the host agent and pkg/portfwd. Owned by the port-forwarding
// work; the host agent starts it with one line in Run (see startPortForwarding).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"sync"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/portfwd"
	"github.com/limactl/limactl/pkg/store"
)

// startPortForwarding forwards the guest's ports and sockets to the host until ctx is done, then
// closes every forward. Run it in its own goroutine once the driver has started the guest:
//
//	go ha.startPortForwarding(runCtx, ew)
//
// Static and socket rules listen on the host at once (connections reach the guest over SSH once it
// answers; TCP connections through the guest agent's tunnel while it is up); guest ports follow the
// guest agent, which it keeps trying to reach (the agent starts late in boot). Each change is a
// portForward event on ew.
func (a *agent) startPortForwarding(ctx context.Context, ew *events.Writer) {
	o := portForwardOptions(a.inst.Config, a.sshPort, a.drv, a.sshClient)
	if o.GuestAgentPath != "" { // the guest runs the agent: TCP forwards may bypass SSH (tunnel.go)
		if t := startTunnel(ctx, a.drv); t != nil {
			o.Tunnel = t
			a.tunnel.Store(t)
		}
	}
	o.GuestAgent = a.startInotify(ctx, o.GuestAgent) // mountInotify shares the guest-agent connection: inotify.go
	o.Event = func(e events.PortForwardEvent) {
		_ = ew.Update(func(s *events.Status) { s.PortForward = &e })
	}
	_ = portfwd.NewManager(o).Run(ctx)
}

// portForwardOptions builds the Manager's options for an instance. The guest agent is used for
// non-plain Linux guests: through the driver's own channel, or through SSH when the driver has none.
func portForwardOptions(y *limayaml.LimaYAML, sshPort int, drv driver.Driver, client portfwd.ClientFunc) portfwd.ManagerOptions {
	o := portfwd.ManagerOptions{Rules: y.PortForwards, SSHLocalPort: sshPort, Client: client}
	if deref(y.Plain) || (y.OS != nil && *y.OS != limayaml.LINUX) {
		return o
	}
	prefix := deref(y.GuestInstallPrefix)
	if prefix == "" {
		prefix = limayaml.DefaultGuestInstallPrefix
	}
	o.GuestAgentPath = path.Join(prefix, "bin", "lima-guestagent")
	viaSSH := portfwd.SSHGuestAgent(client, o.GuestAgentPath)
	var once sync.Once
	o.GuestAgent = func(ctx context.Context) (io.ReadWriteCloser, error) {
		c, err := drv.GuestAgentConn(ctx)
		if errors.Is(err, driver.ErrUnsupported) {
			once.Do(func() { logrus.Info("the driver has no guest-agent channel; reaching the guest agent over SSH") })
			return viaSSH(ctx)
		}
		if err != nil {
			return nil, err
		}
		return c, nil
	}
	return o
}

// guestAgentBinary finds the guest agent for a guest architecture where `make install` puts it:
// <prefix>/share/lima/lima-guestagent.Linux-<arch>, <prefix> being the parent of the directory
// holding the running limactl (symlinks resolved). The result is for cidata.Args.GuestAgentBinary.
func guestAgentBinary(arch limayaml.Arch) (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return guestAgentBinaryUnder(filepath.Dir(filepath.Dir(exe)), arch)
}

func guestAgentBinaryUnder(prefix string, arch limayaml.Arch) (string, error) {
	p := filepath.Join(prefix, "share", "lima", "lima-guestagent.Linux-"+arch)
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("the guest agent for %s is missing (%w); build it with `make guestagent` or reinstall limactl; ports will not be forwarded", arch, err)
	}
	return p, nil
}

// seedGuestAgent is the guest agent to put into the cloud-init seed (cidata.Args.GuestAgentBinary):
// "" for plain and non-Linux guests, and, with a warning, when the binary is not installed (the
// guest then boots without it and only static and socket rules are forwarded).
func seedGuestAgent(inst *store.Instance) string {
	y := inst.Config
	if deref(y.Plain) || (y.OS != nil && *y.OS != limayaml.LINUX) {
		return ""
	}
	p, err := guestAgentBinary(inst.Arch)
	if err != nil {
		logrus.Warn(err)
		return ""
	}
	return p
}
