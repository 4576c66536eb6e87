package wsl2

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// Name is the vmType of this driver.
const Name = limayaml.WSL2

// ImageFormat is the only base image format the driver takes: a root filesystem archive.
const ImageFormat = "tar"

// Options adjust a driver for tests; the zero value is the real thing.
type Options struct {
	// Runner runs wsl.exe; nil means ExecRunner{}.
	Runner Runner
	// ToWSLPath translates host paths into the distro's view; nil means WindowsToWSLPath. Tests on
	// Linux pass one that accepts their POSIX temporary directories.
	ToWSLPath func(string) (string, error)
}

// Driver is the WSL2 driver. It keeps no state of its own: wsl.exe's registry of distros is the
// state, so every Driver value (and every process) sees the same one.
type Driver struct {
	cfg  driver.Config
	opts Options
}

// New returns a WSL2 driver for cfg that runs the real wsl.exe. It has no side effects.
func New(cfg driver.Config) driver.Driver { return NewWithOptions(cfg, Options{}) }

// NewWithOptions returns a WSL2 driver for cfg with test substitutes.
func NewWithOptions(cfg driver.Config, opts Options) *Driver {
	if opts.Runner == nil {
		opts.Runner = ExecRunner{}
	}
	return &Driver{cfg: cfg, opts: opts}
}

var _ driver.Driver = (*Driver)(nil)

// Plan returns the wsl.exe invocations of this instance (see Plan.Steps).
func (d *Driver) Plan() (Plan, error) { return NewPlanWith(d.cfg, d.opts.ToWSLPath) }

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info {
	return driver.Info{
		Name:        Name,
		InstanceDir: d.cfg.InstanceDir,
		Features: driver.Features{
			StaticSSHPort:         true,
			DynamicSSHAddress:     true,
			NoCloudInit:           true,
			SupportedImageFormats: []string{ImageFormat},
		},
	}
}

// run runs inv and turns a non-zero exit into an *Error.
func (d *Driver) run(ctx context.Context, inv Invocation) (Result, error) {
	logrus.Debugf("wsl2: %s", inv)
	res, err := d.opts.Runner.Run(ctx, inv)
	if err != nil {
		return res, fmt.Errorf("wsl2: %w", err)
	}
	if err := CheckResult(inv, res); err != nil {
		return res, fmt.Errorf("wsl2: %w", err)
	}
	return res, nil
}

// Validate implements driver.Driver. lima.yaml's WSL2 rules (Windows build, tar rootfs, refused
// options) are pkg/limayaml's; this checks what only the driver can: the distro name and paths,
// and that wsl.exe runs and WSL2 is enabled.
func (d *Driver) Validate(ctx context.Context) error {
	if y := d.cfg.Config; y != nil && y.VMType != nil && *y.VMType != Name {
		return fmt.Errorf("wsl2: vmType is %q, not %q: %w", *y.VMType, Name, driver.ErrInvalidConfig)
	}
	p, err := d.Plan()
	if err != nil {
		return err
	}
	if _, err := d.run(ctx, p.List()); err != nil && !IsNoDistros(err) {
		if errors.Is(err, driver.ErrUnsupported) || ctx.Err() != nil {
			return err
		}
		if errors.Is(err, exec.ErrNotFound) { // the message already says how to install WSL
			return fmt.Errorf("%w: %w", err, driver.ErrUnsupported)
		}
		return fmt.Errorf("%w (is WSL installed and enabled? `wsl --install --no-distribution` in an administrator PowerShell): %w", err, driver.ErrUnsupported)
	}
	return nil
}

// distroState returns the distro's state, and false when it is not registered.
func (d *Driver) distroState(ctx context.Context, p Plan) (State, bool, error) {
	res, err := d.run(ctx, p.List())
	if err != nil {
		if IsNoDistros(err) {
			return "", false, nil
		}
		return "", false, err
	}
	for _, di := range ParseList(DecodeOutput(res.Stdout)) {
		if !strings.EqualFold(di.Name, p.Distro) { // WSL compares names case-insensitively
			continue
		}
		if di.State.Known() {
			return di.State, true, nil
		}
		// A translated state: ask for the running names, which are not translated.
		res, err := d.run(ctx, p.ListRunning())
		if err != nil && !IsNoDistros(err) {
			return "", true, err
		}
		for _, n := range ParseNames(DecodeOutput(res.Stdout)) {
			if strings.EqualFold(n, p.Distro) {
				return StateRunning, true, nil
			}
		}
		return StateStopped, true, nil
	}
	return "", false, nil
}

// Status implements driver.Driver: Running and Stopped as wsl.exe says; an unregistered distro is
// Stopped; Installing, Converting and Uninstalling (wsl.exe is busy with it) are Broken.
func (d *Driver) Status(ctx context.Context) (driver.Status, error) {
	p, err := d.Plan()
	if err != nil {
		return "", err
	}
	st, registered, err := d.distroState(ctx, p)
	switch {
	case err != nil:
		return "", err
	case !registered, st == StateStopped:
		return driver.StatusStopped, nil
	case st == StateRunning:
		return driver.StatusRunning, nil
	}
	return driver.StatusBroken, nil
}

// Create implements driver.Driver. WSL needs nothing before the import; it checks the plan only.
func (d *Driver) Create(context.Context) error {
	_, err := d.Plan()
	return err
}

// CreateDisk implements driver.Driver: it imports the root filesystem as the distro, whose disk
// (ext4.vhdx) wsl.exe keeps in the instance directory. An imported distro is kept as it is.
func (d *Driver) CreateDisk(ctx context.Context) error {
	p, err := d.Plan()
	if err != nil {
		return err
	}
	st, registered, err := d.distroState(ctx, p)
	switch {
	case err != nil:
		return err
	case registered && st == StateRunning:
		return fmt.Errorf("wsl2: distro %s is running; stop it first: %w", p.Distro, driver.ErrAlreadyRunning)
	case registered:
		return nil
	}
	if _, err := os.Stat(p.RootFS); err != nil {
		return fmt.Errorf("wsl2: the root filesystem archive %s is missing (limactl start downloads it from images[].location): %w", p.RootFS, driver.ErrNotFound)
	}
	if _, err := d.run(ctx, p.Import()); err != nil {
		return fmt.Errorf("wsl2: importing %s as %s (images[].location must be a tar root filesystem): %w", p.RootFS, p.Distro, err)
	}
	return nil
}

// Delete implements driver.Driver: it unregisters the distro, which removes its disk.
func (d *Driver) Delete(ctx context.Context) error {
	p, err := d.Plan()
	if err != nil {
		return err
	}
	st, registered, err := d.distroState(ctx, p)
	switch {
	case err != nil:
		return err
	case !registered:
		return nil
	case st == StateRunning:
		return fmt.Errorf("wsl2: distro %s is running; stop it first: %w", p.Distro, driver.ErrAlreadyRunning)
	}
	if _, err := d.run(ctx, p.Unregister()); err != nil && !errors.Is(err, driver.ErrNotFound) {
		return fmt.Errorf("wsl2: unregistering %s: %w", p.Distro, err)
	}
	return nil
}

// SSHAddress implements driver.Driver: the distro's own address, read in the distro (it changes on
// every WSL boot in NAT mode). SSH is then reached on port 22 (Features.StaticSSHPort).
func (d *Driver) SSHAddress(ctx context.Context) (string, error) {
	p, err := d.Plan()
	if err != nil {
		return "", err
	}
	st, registered, err := d.distroState(ctx, p)
	if err != nil {
		return "", err
	}
	if !registered || st != StateRunning {
		return "", fmt.Errorf("wsl2: distro %s is not running, so it has no address: %w", p.Distro, driver.ErrNotRunning)
	}
	res, err := d.run(ctx, p.GuestIP())
	if err != nil {
		return "", err
	}
	ip, err := ParseGuestIP(DecodeOutput(res.Stdout))
	if err != nil {
		return "", fmt.Errorf("wsl2: %s: %w", p.Distro, err)
	}
	return ip, nil
}

// GuestAgentConn implements driver.Driver. The driver has no channel of its own to the guest agent
// (WSL's vsock is Hyper-V sockets, not reached here), so the caller forwards the agent's socket
// over SSH.
func (d *Driver) GuestAgentConn(context.Context) (net.Conn, error) {
	return nil, fmt.Errorf("wsl2: no direct channel to the guest agent; forward it over SSH: %w", driver.ErrUnsupported)
}

// GuestAgentTunnelConn implements driver.Driver: no tunnel channel, as for GuestAgentConn; ports are
// forwarded over SSH.
func (d *Driver) GuestAgentTunnelConn(context.Context) (net.Conn, error) {
	return nil, fmt.Errorf("wsl2: no guest-agent tunnel; ports are forwarded over SSH: %w", driver.ErrUnsupported)
}

// BootScripts implements driver.Driver: none; the boot script runs through Plan.Boot instead.
func (d *Driver) BootScripts() map[string][]byte { return nil }

var errNoSnapshots = fmt.Errorf("wsl2: WSL2 distros have no snapshots (`wsl --export` makes a copy of a stopped one): %w", driver.ErrUnsupported)

// CreateSnapshot implements driver.Driver: unsupported.
func (d *Driver) CreateSnapshot(context.Context, string) error { return errNoSnapshots }

// ApplySnapshot implements driver.Driver: unsupported.
func (d *Driver) ApplySnapshot(context.Context, string) error { return errNoSnapshots }

// DeleteSnapshot implements driver.Driver: unsupported.
func (d *Driver) DeleteSnapshot(context.Context, string) error { return errNoSnapshots }

// ListSnapshots implements driver.Driver: unsupported.
func (d *Driver) ListSnapshots(context.Context) ([]driver.Snapshot, error) {
	return nil, errNoSnapshots
}
