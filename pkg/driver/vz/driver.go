package vz

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Name is the vmType of this driver.
const Name = limayaml.VZ

// Options replace the parts of the driver that touch the host, for tests and for tools that plan
// without a Mac. The zero value means the real ones.
type Options struct {
	// Hypervisor replaces Virtualization.framework (DefaultHypervisor).
	Hypervisor Hypervisor
	// Host replaces the gathered host facts (GatherHostFacts).
	Host *HostFacts
}

// Driver is the vz driver.
type Driver struct {
	cfg  driver.Config
	opts Options
}

var _ driver.Driver = (*Driver)(nil)

// New returns a vz driver for cfg. It has no side effects.
func New(cfg driver.Config) driver.Driver { return NewWithOptions(cfg, Options{}) }

// NewWithOptions returns a vz driver for cfg with parts replaced by opts.
func NewWithOptions(cfg driver.Config, opts Options) *Driver {
	return &Driver{cfg: cfg, opts: opts}
}

func (d *Driver) path(name string) string { return filepath.Join(d.cfg.InstanceDir, name) }

func (d *Driver) hypervisor() Hypervisor {
	if d.opts.Hypervisor != nil {
		return d.opts.Hypervisor
	}
	return DefaultHypervisor()
}

// HostFacts returns the facts Plan uses: the injected ones, or those gathered from this host.
func (d *Driver) HostFacts() HostFacts {
	if d.opts.Host != nil {
		return *d.opts.Host
	}
	return GatherHostFacts(d.hypervisor())
}

// GatherHostFacts reads the macOS version and arch of this host and asks hv for the rest.
func GatherHostFacts(hv Hypervisor) HostFacts {
	h := hv.Probe()
	h.MacOSVersion = limayaml.Host().MacOSVersion
	h.Arch = limayaml.GoArchToLima(runtime.GOARCH)
	return h
}

// Plan computes this instance's Spec on this host.
func (d *Driver) Plan() (*Spec, error) { return Plan(d.cfg, d.HostFacts()) }

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info {
	return driver.Info{
		Name:        Name,
		InstanceDir: d.cfg.InstanceDir,
		VsockPort:   int(GuestAgentVsockPort),
		Features: driver.Features{
			// qcow2 is converted to raw by CreateDisk (qemu-img); the VM itself reads only raw.
			SupportedImageFormats: []string{"raw", "qcow2"},
		},
	}
}

// Validate implements driver.Driver: Virtualization.framework must be available (macOS, cgo build),
// and the configuration must plan.
func (d *Driver) Validate(ctx context.Context) error {
	if d.cfg.Config == nil {
		return fmt.Errorf("vz: no configuration: %w", driver.ErrInvalidConfig)
	}
	if d.opts.Hypervisor == nil {
		if err := frameworkAvailable(); err != nil {
			return err
		}
	}
	if d.cfg.Config.VMOpts.VZ.DiskImageFormat != nil {
		if f := *d.cfg.Config.VMOpts.VZ.DiskImageFormat; f != "" && f != "raw" {
			return fmt.Errorf("vz: vmOpts.vz.diskImageFormat %q is not supported yet; set it to raw: %w", f, driver.ErrUnsupported)
		}
	}
	_, err := d.Plan()
	return err
}

// Create implements driver.Driver: it makes vz-identifier (the machine identifier, kept for the
// instance's life so the guest sees the same machine on every boot) and, for EFI boot, vz-efi (the EFI
// variable store). Existing files are kept.
func (d *Driver) Create(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("vz: create: %w", err)
	}
	if d.cfg.Config == nil {
		return fmt.Errorf("vz: no configuration: %w", driver.ErrInvalidConfig)
	}
	hv := d.hypervisor()
	idPath := d.path(filenames.VZIdentifier)
	if !exists(idPath) {
		data, err := hv.NewMachineIdentifier()
		if err != nil {
			return fmt.Errorf("vz: making the machine identifier: %w", err)
		}
		if err := atomicfile.WriteFile(idPath, data, 0o644); err != nil {
			return fmt.Errorf("vz: %w", err)
		}
	}
	arch := deref(d.cfg.Config.Arch)
	if arch == "" {
		arch = limayaml.GoArchToLima(runtime.GOARCH)
	}
	if img := bootImage(d.cfg.Config, arch); img != nil && img.Kernel != nil {
		return nil // direct kernel boot: no EFI variable store
	}
	efi := d.path(filenames.VZEfi)
	if !exists(efi) {
		if err := hv.CreateEFIVariableStore(efi); err != nil {
			_ = os.Remove(efi)
			return fmt.Errorf("vz: making the EFI variable store %s: %w", efi, err)
		}
	}
	return nil
}

// SSHAddress implements driver.Driver: the host agent's forwarder listens on 127.0.0.1.
func (d *Driver) SSHAddress(ctx context.Context) (string, error) { return "127.0.0.1", nil }

// CreateSnapshot implements driver.Driver: vz has no snapshots here.
func (d *Driver) CreateSnapshot(ctx context.Context, tag string) error { return errNoSnapshots() }

// ApplySnapshot implements driver.Driver.
func (d *Driver) ApplySnapshot(ctx context.Context, tag string) error { return errNoSnapshots() }

// DeleteSnapshot implements driver.Driver.
func (d *Driver) DeleteSnapshot(ctx context.Context, tag string) error { return errNoSnapshots() }

// ListSnapshots implements driver.Driver.
func (d *Driver) ListSnapshots(ctx context.Context) ([]driver.Snapshot, error) {
	return nil, errNoSnapshots()
}

func errNoSnapshots() error {
	return fmt.Errorf("vz: snapshots are not supported with vmType vz; use vmType qemu for snapshots: %w", driver.ErrUnsupported)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// removeFiles removes the named files of the instance directory, ignoring missing ones.
func (d *Driver) removeFiles(names ...string) error {
	var errs []error
	for _, name := range names {
		if err := os.Remove(d.path(name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
