package hostagent

// Host folder mounts of type reverse-sshfs (9p and virtiofs are the hypervisor's and the guest boot
// scripts' business). steps() takes mountSteps: before the probes, a "fuse" step (sshfs installed,
// /run/lima-fuse-ready written) and a "mounts" step that mounts every share over its own SSH
// connection. On a requested stop Run unmounts them (unmountReverseSSHFS) before it stops the driver;
// when the guest ends on its own they are dropped with the run's context.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/cidata"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/reversesshfs"
	"github.com/limactl/limactl/pkg/sshutil"
)

// mountAttempts is how many times the mounts step tries before it gives up and the instance is
// reported degraded.
const mountAttempts = 3

// unmountTimeout bounds unmounting all reverse-sshfs shares at stop.
const unmountTimeout = 15 * time.Second

// reverseSSHFSOptions lists the instance's reverse-sshfs mounts; none unless mountType is
// reverse-sshfs on a non-plain Linux guest.
func reverseSSHFSOptions(y *limayaml.LimaYAML) []reversesshfs.Options {
	if deref(y.MountType) != limayaml.REVSSHFS || deref(y.Plain) || (y.OS != nil && *y.OS != limayaml.LINUX) {
		return nil
	}
	var out []reversesshfs.Options
	for _, m := range y.Mounts {
		mp := deref(m.MountPoint)
		if mp == "" {
			mp = m.Location
		}
		cache := true
		if m.SSHFS.Cache != nil {
			cache = *m.SSHFS.Cache
		}
		out = append(out, reversesshfs.Options{
			Location:       m.Location,
			MountPoint:     mp,
			Writable:       deref(m.Writable),
			Cache:          cache,
			FollowSymlinks: deref(m.SSHFS.FollowSymlinks),
			User:           deref(y.User.Name),
			SFTPDriver:     deref(m.SSHFS.SFTPDriver),
		})
	}
	return out
}

// mountSteps returns the readiness steps for reverse-sshfs mounts, or nil when there are none.
func (a *agent) mountSteps() []Step {
	opts := reverseSSHFSOptions(a.inst.Config)
	if len(opts) == 0 {
		return nil
	}
	warnExposure(opts)
	var wake <-chan struct{}
	if a.console != nil {
		wake = a.console.Wake()
	}
	ms := &mountSet{opts: opts, dial: a.dialSSH}
	a.mu.Lock()
	a.mounts = ms
	a.mu.Unlock()
	return []Step{
		{
			ID: "fuse", Description: "Waiting for sshfs and FUSE allow_other in the guest", Wake: wake,
			Check: func(ctx context.Context) (bool, error) {
				out, err := a.run(ctx, "command -v sshfs >/dev/null || echo no-sshfs; cat "+a.markerRoot+cidata.MarkerFuseReady+" 2>/dev/null || true")
				if err != nil {
					return false, err
				}
				if strings.Contains(out, "no-sshfs") {
					return false, errors.New("sshfs is not installed in the guest (install the sshfs package, or use mountType 9p)")
				}
				return strings.TrimSpace(out) == a.iid, nil
			},
			Hint: "the guest needs sshfs and /etc/fuse.conf with user_allow_other (boot script 04-fuse.sh writes " + cidata.MarkerFuseReady + ")",
		},
		{
			ID: "mounts", Description: "Mounting host folders with reverse-sshfs",
			Check: ms.check,
			Hint:  "see the host agent's log (ha.stderr.log)",
		},
	}
}

// dialSSH opens a new SSH connection to the guest, with its host key pinned.
func (a *agent) dialSSH(ctx context.Context) (*ssh.Client, error) {
	return sshutil.Dial(ctx, sshutil.DialOptions{
		Port: a.sshPort, User: a.user, Signer: a.signer,
		KnownHostsFile: sshutil.KnownHostsFile(a.inst.Dir), HostKeyAlias: sshutil.HostKeyAlias(a.inst.Name),
		Timeout: sshProbeTimeout,
	})
}

// unmountReverseSSHFS unmounts the agent's reverse-sshfs shares in the guest and ends their
// sessions; it does nothing when there are none. Call it before stopping the guest.
func (a *agent) unmountReverseSSHFS() {
	a.mu.Lock()
	ms := a.mounts
	a.mounts = nil
	a.mu.Unlock()
	if ms != nil {
		ms.unmountAll(true)
	}
}

// mountSet is the reverse-sshfs mounts of one run.
type mountSet struct {
	dial     func(context.Context) (*ssh.Client, error)
	opts     []reversesshfs.Options
	attempts int

	mu      sync.Mutex
	client  *ssh.Client
	mounted map[int]*reversesshfs.Mount
	watch   sync.Once
}

// check mounts what is not mounted yet. After mountAttempts failed tries it gives up (fatal), so
// the instance becomes ready but degraded, with the reason in its errors.
func (s *mountSet) check(ctx context.Context) (bool, error) {
	s.watch.Do(func() { context.AfterFunc(ctx, func() { s.unmountAll(false) }) })
	if err := s.findSFTPServers(); err != nil {
		return false, fmt.Errorf("%w: %w", ErrFatal, err) // retrying will not install it
	}
	s.attempts++
	err := s.mountAll(ctx)
	if err == nil {
		return true, nil
	}
	if s.attempts >= mountAttempts {
		return false, fmt.Errorf("%w: %w", ErrFatal, err)
	}
	return false, err
}

// warnExposure warns, once per start, of each mount served by OpenSSH's sftp-server: the guest
// can read the whole host file system through it. The warning reaches `limactl start` too.
// opts are in the order of lima.yaml's mounts.
func warnExposure(opts []reversesshfs.Options) {
	for i, o := range opts {
		if w := reversesshfs.OpenSSHExposure(o); w != "" {
			logrus.Warnf("mounts[%d] %s", i, w)
		}
	}
}

// findSFTPServers finds the host's sftp-server for the mounts whose sftpDriver asks for it, and
// refuses it for writable mounts (validation refuses them already; an instance directory edited
// by hand must not get past it).
func (s *mountSet) findSFTPServers() error {
	for i, o := range s.opts {
		if err := reversesshfs.CheckOpenSSH(o); err != nil {
			return fmt.Errorf("mounts[%d]: %w", i, err)
		}
		if o.SFTPDriver != reversesshfs.DriverOpenSSH || o.SFTPServer != "" {
			continue
		}
		p, err := reversesshfs.FindSFTPServer()
		if err != nil {
			return fmt.Errorf("mounts[%d].sshfs.sftpDriver is %s, but %w: install it (Debian: apt install openssh-sftp-server) or set sftpDriver to %s", i, o.SFTPDriver, err, reversesshfs.DriverBuiltin)
		}
		s.opts[i].SFTPServer = p
	}
	return nil
}

func (s *mountSet) mountAll(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mounted == nil {
		s.mounted = map[int]*reversesshfs.Mount{}
	}
	if s.client == nil {
		// A connection of its own: the readiness connection is redialled on errors, which would end the mounts.
		c, err := s.dial(ctx)
		if err != nil {
			return err
		}
		s.client = c
	}
	var errs []error
	for i, o := range s.opts {
		if m := s.mounted[i]; m != nil {
			select {
			case <-m.Done():
				logrus.Warnf("reverse-sshfs: sshfs for %s ended; mounting it again", o.MountPoint)
			default:
				continue
			}
		}
		if err := os.MkdirAll(o.Location, 0o755); err != nil {
			errs = append(errs, fmt.Errorf("cannot create the host folder of mount %s: %w", o.MountPoint, err))
			continue
		}
		m, err := reversesshfs.Start(ctx, s.client, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		s.mounted[i] = m
		logrus.Infof("mounted %s on %s (reverse-sshfs, %s, SFTP server %s)", o.Location, o.MountPoint,
			map[bool]string{true: "writable", false: "read-only"}[o.Writable], sftpServerName(o))
	}
	if len(errs) > 0 && s.client != nil {
		// A broken connection fails every later mount: dial again on the next try.
		if _, _, err := sshutil.Output(ctx, s.client, "true", nil); err != nil {
			_ = s.client.Close()
			s.client = nil
			clear(s.mounted)
		}
	}
	return errors.Join(errs...)
}

// unmountAll unmounts every share in the guest and closes the mounts' connection. Failures are
// warnings when orderly is set, and debug messages otherwise (the guest may be gone already).
func (s *mountSet) unmountAll(orderly bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.client == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), unmountTimeout)
	defer cancel()
	for i, m := range s.mounted {
		if err := m.Unmount(ctx); err != nil {
			if orderly {
				logrus.WithError(err).Warn("reverse-sshfs: unmount failed")
			} else {
				logrus.WithError(err).Debug("reverse-sshfs: unmount as the run ends")
			}
		} else {
			logrus.Infof("unmounted %s", s.opts[i].MountPoint)
		}
	}
	_ = s.client.Close()
	s.client = nil
	clear(s.mounted)
}

// sftpServerName names the SFTP server of a mount for the log.
func sftpServerName(o reversesshfs.Options) string {
	if o.SFTPDriver == reversesshfs.DriverOpenSSH {
		return o.SFTPServer
	}
	return reversesshfs.DriverBuiltin
}
