package qemu

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Name is the vmType of this driver.
const Name = limayaml.QEMU

// File names this driver adds to Lima's.
const (
	// LogFile receives QEMU's own stdout and stderr.
	LogFile = "qemu.log"
)

// stopMarker names the file Stop and Kill write before they end the QEMU with this pid, so that the
// process that started it reports the exit as intended rather than as a crash. Only that process
// removes it (or Delete, or `limactl stop -f`, which removes *.tmp).
func stopMarker(pid int) string { return "qemu-" + strconv.Itoa(pid) + "-stopping.tmp" }

// Driver is the QEMU driver.
type Driver struct {
	cfg driver.Config
	// launched is what the last Start ran; fellBack is set once the host agent gave up on its
	// hardware accelerator (fallback.go).
	launched launch
	fellBack bool
	// ringFile and ring are the tunnel ring's memfd and the host agent's mapping of it, made at
	// the first Start (Linux) and kept for the driver's life: a session may still write to it.
	// ringOn: the running QEMU shares it with the guest (read by the tunnel's goroutine while a
	// fallback restart may run Start).
	ringFile *os.File
	ring     []byte
	ringOn   atomic.Bool
}

// New returns a QEMU driver for cfg. It has no side effects.
func New(cfg driver.Config) driver.Driver { return &Driver{cfg: cfg} }

var _ driver.Driver = (*Driver)(nil)

func (d *Driver) path(name string) string { return filepath.Join(d.cfg.InstanceDir, name) }

func (d *Driver) guestArch() limayaml.Arch {
	if d.cfg.Config != nil && d.cfg.Config.Arch != nil {
		return *d.cfg.Config.Arch
	}
	return HostArch()
}

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info {
	return driver.Info{
		Name:        Name,
		InstanceDir: d.cfg.InstanceDir,
		VirtioPort:  GuestAgentPort,
		Features: driver.Features{
			SupportsSnapshots:     true,
			SupportedImageFormats: []string{"qcow2", "raw", "vmdk", "vhdx"},
		},
	}
}

// Validate implements driver.Driver by planning a launch without probing the accelerator: every
// configuration error MakePlan can find (arch, firmware, mounts, memory) surfaces here.
func (d *Driver) Validate(ctx context.Context) error {
	if d.cfg.Config == nil {
		return fmt.Errorf("qemu: no configuration: %w", driver.ErrInvalidConfig)
	}
	host, err := GatherHostFacts(ctx, d.guestArch(), false)
	if err != nil {
		return err
	}
	if forced := strings.TrimSpace(envknob.LimaQEMUAccel.Get()); forced != "" {
		choice, err := DecideAccel(AccelFacts{OS: host.OS, HostArch: host.Arch, GuestArch: d.guestArch(), Forced: forced})
		if err != nil {
			return err
		}
		host.Accel = choice.Accel
	}
	cfg := d.cfg
	if cfg.SSHLocalPort == 0 {
		cfg.SSHLocalPort = 1 // not chosen yet; any port plans the same
	}
	host.DiskFormats = map[string]string{}
	for _, ad := range d.cfg.Config.AdditionalDisks {
		host.DiskFormats[ad.Name] = "raw" // read at Start (the disk may not exist yet); any format plans the same
	}
	if err := d.usernetSockets(&host); err != nil {
		return err
	}
	if _, err := MakePlan(cfg, host); err != nil {
		return err
	}
	if v := deref(d.cfg.Config.VMOpts.QEMU.MinimumVersion); v != "" && host.QEMUVersion != "" && versionLess(host.QEMUVersion, v) {
		return fmt.Errorf("QEMU %s is older than vmOpts.qemu.minimumVersion %s; upgrade QEMU: %w", host.QEMUVersion, v, driver.ErrUnsupported)
	}
	return nil
}

// versionLess compares dotted numeric versions.
func versionLess(a, b string) bool {
	as, bs := strings.Split(a, "."), strings.Split(b, ".")
	for i := 0; i < len(as) || i < len(bs); i++ {
		var x, y int
		if i < len(as) {
			x, _ = strconv.Atoi(as[i])
		}
		if i < len(bs) {
			y, _ = strconv.Atoi(bs[i])
		}
		if x != y {
			return x < y
		}
	}
	return false
}

// Create implements driver.Driver. QEMU needs no state before the disk.
func (d *Driver) Create(ctx context.Context) error { return nil }

// BootScripts implements driver.Driver.
func (d *Driver) BootScripts() map[string][]byte { return nil }

// SSHAddress implements driver.Driver: the guest's port 22 is forwarded to 127.0.0.1:SSHLocalPort.
func (d *Driver) SSHAddress(ctx context.Context) (string, error) { return "127.0.0.1", nil }

// sockets computes where this instance's sockets are, without probing anything, so that every Driver
// value (and every process) finds the same paths.
func (d *Driver) sockets() (Sockets, []string, []Symlink, error) {
	n := 0
	if y := d.cfg.Config; y != nil && deref(y.MountType) == limayaml.VIRTIOFS {
		n = len(y.Mounts)
	}
	return planSockets(d.cfg, HostFacts{OS: runtime.GOOS, TempDir: socketTempDir(), UID: os.Getuid()}, n)
}

// Status implements driver.Driver. A pid file naming a dead process (or, after pid reuse, another
// program) is stale: it and the sockets are removed.
func (d *Driver) Status(ctx context.Context) (driver.Status, error) {
	if d.runningPID() != 0 {
		return driver.StatusRunning, nil
	}
	if _, err := os.Stat(d.path(filenames.PIDFile(Name))); err == nil {
		d.cleanup()
	}
	return driver.StatusStopped, nil
}

// GuestAgentConn implements driver.Driver: it connects to the virtio-serial port's host end (ga.sock).
// The guest side sees the connection as "host connected"; keep it open while the agent is in use.
func (d *Driver) GuestAgentConn(ctx context.Context) (net.Conn, error) {
	if d.runningPID() == 0 {
		return nil, fmt.Errorf("instance %q is not running: %w", d.cfg.Name, driver.ErrNotRunning)
	}
	socks, _, _, err := d.sockets()
	if err != nil {
		return nil, err
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", socks.GuestAgent)
	if err != nil {
		return nil, fmt.Errorf("connecting to the guest agent channel %s: %w", socks.GuestAgent, err)
	}
	return conn, nil
}

// GuestAgentTunnelConn implements driver.Driver: it connects to the host end of the tunnel's
// virtio-serial port (gat.sock). A QEMU started by an older limactl has no such port: then
// ErrUnsupported.
func (d *Driver) GuestAgentTunnelConn(ctx context.Context) (net.Conn, error) {
	if d.runningPID() == 0 {
		return nil, fmt.Errorf("instance %q is not running: %w", d.cfg.Name, driver.ErrNotRunning)
	}
	socks, _, _, err := d.sockets()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(socks.GuestAgentTunnel); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("the running QEMU has no tunnel port (%s is missing; restart the instance to get one): %w", socks.GuestAgentTunnel, driver.ErrUnsupported)
	}
	var dialer net.Dialer
	conn, err := dialer.DialContext(ctx, "unix", socks.GuestAgentTunnel)
	if err != nil {
		return nil, fmt.Errorf("connecting to the guest agent's tunnel %s: %w", socks.GuestAgentTunnel, err)
	}
	if d.ringOn.Load() {
		return &ringConn{Conn: conn, ring: d.ring}, nil
	}
	return conn, nil
}

// ringConn is the tunnel's port of a QEMU that shares the ring's memory with the guest.
type ringConn struct {
	net.Conn
	ring []byte
}

// TunnelRing implements portfwd.RingConn.
func (c *ringConn) TunnelRing() []byte { return c.ring }

// Delete implements driver.Driver: it removes the disk and QEMU's files; the downloaded image, kernel
// and initrd are the downloader's and stay.
func (d *Driver) Delete(ctx context.Context) error {
	if d.runningPID() != 0 {
		return fmt.Errorf("instance %q is running; stop it before deleting it: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	d.cleanup()
	markers, _ := filepath.Glob(d.path("qemu-*-stopping.tmp"))
	var errs []error
	for _, m := range markers {
		_ = os.Remove(m)
	}
	// serial.log.1: the host agent's rotation of serial.log (hostagent/console.go).
	for _, name := range []string{filenames.Disk, filenames.Disk + ".tmp", filenames.KernelCmdline, LogFile, filenames.SerialLog, filenames.SerialLog + ".1"} {
		if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// cleanup removes what a QEMU run leaves behind: pid file, sockets and their symlinks, the short socket
// directory. It is safe to call at any time QEMU does not run.
func (d *Driver) cleanup() {
	_ = os.Remove(d.path(filenames.PIDFile(Name)))
	d.unlockDisks()
	socks, dirs, links, err := d.sockets()
	if err != nil {
		return
	}
	for _, s := range append([]string{socks.QMP, socks.Serial, socks.GuestAgent, socks.GuestAgentTunnel}, socks.Virtiofsd...) {
		_ = os.Remove(s)
	}
	for _, l := range links {
		_ = os.Remove(l.Link)
	}
	if len(dirs) > 0 {
		_ = os.Remove(socks.Dir) // only when empty; the shared parent stays
	}
}
