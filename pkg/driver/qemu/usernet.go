package qemu

import (
	"context"
	"errors"
	"os"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/networks/usernet"
)

// usernetDaemons returns the user-v2 networks the instance's networks entries name (each once),
// keyed by name. Entries naming other kinds of network are left out: MakePlan refuses them.
func (d *Driver) usernetDaemons() (map[string]*usernet.Daemon, error) {
	y := d.cfg.Config
	if y == nil {
		return nil, nil
	}
	daemons := map[string]*usernet.Daemon{}
	for _, nw := range y.Networks {
		if nw.Lima == "" || daemons[nw.Lima] != nil {
			continue
		}
		dm, err := usernet.NewDaemon(nw.Lima)
		if errors.Is(err, usernet.ErrNotUserV2) {
			logrus.Debugf("instance %q: network %q is not attached as user-v2: %v", d.cfg.Name, nw.Lima, err)
			continue // MakePlan refuses it
		}
		if err != nil {
			return nil, err
		}
		daemons[nw.Lima] = dm
	}
	return daemons, nil
}

// usernetSockets fills host.UsernetSockets with the QEMU socket of each user-v2 network, without
// starting anything (Validate).
func (d *Driver) usernetSockets(host *HostFacts) error {
	daemons, err := d.usernetDaemons()
	if err != nil || len(daemons) == 0 {
		return err
	}
	host.UsernetSockets = map[string]string{}
	for name, dm := range daemons {
		sock, err := dm.QEMUSocket()
		if err != nil {
			return err
		}
		host.UsernetSockets[name] = sock
	}
	return nil
}

// acquireUsernets attaches the instance to each of its user-v2 networks, starting their usernet
// processes as needed (usernet.Daemon.Acquire), fills host.UsernetSockets, and returns the function
// that detaches it again (stopping a usernet process when the instance was its last user).
func (d *Driver) acquireUsernets(ctx context.Context, host *HostFacts) (release func(), err error) {
	daemons, err := d.usernetDaemons()
	if err != nil {
		return func() {}, err
	}
	var acquired []*usernet.Daemon
	release = func() {
		for _, dm := range acquired {
			if err := dm.Release(d.cfg.Name); err != nil {
				logrus.Warnf("instance %q: cannot detach from network %q: %v", d.cfg.Name, dm.Name, err)
			}
		}
		acquired = nil
	}
	if len(daemons) == 0 {
		return release, nil
	}
	host.UsernetSockets = map[string]string{}
	for name, dm := range daemons {
		sock, err := dm.QEMUSocket()
		if err == nil {
			err = dm.Acquire(ctx, d.cfg.Name, os.Getpid())
		}
		if err != nil {
			release()
			return func() {}, errors.Join(errors.New("cannot start user-v2 network "+name), err)
		}
		acquired = append(acquired, dm)
		host.UsernetSockets[name] = sock
	}
	return release, nil
}
