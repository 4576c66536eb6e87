// Package fake is a driver with no hypervisor, for tests of the layers above drivers (host agent,
// commands) and as the conformance suite's own check. Its "guest" is a goroutine, and its guest agent an
// in-process listener that accepts connections and echoes what it reads.
//
// What a real driver keeps in the instance directory, the fake keeps in a process-wide table keyed by
// instance directory, so that several Driver values for one instance agree, as the contract requires.
// The disk is a real file: CreateDisk copies the base image to InstanceDir/disk, Delete removes it.
package fake

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Name is the vmType the fake registers under in tests that want it.
const Name = "fake"

// Driver is the fake driver.
type Driver struct {
	cfg driver.Config
}

// New returns a fake driver for cfg.
func New(cfg driver.Config) driver.Driver { return &Driver{cfg: cfg} }

// vm is one running fake guest.
type vm struct {
	stop  chan struct{}
	done  chan struct{}
	errCh chan error
}

// instance is everything the fake keeps about one instance directory.
type instance struct {
	created   bool
	running   *vm
	snapshots []driver.Snapshot
	nextID    int
}

var (
	mu        sync.Mutex
	instances = map[string]*instance{}
)

func (d *Driver) state() *instance {
	inst, ok := instances[d.cfg.InstanceDir]
	if !ok {
		inst = &instance{}
		instances[d.cfg.InstanceDir] = inst
	}
	return inst
}

func (d *Driver) diskPath() string { return filepath.Join(d.cfg.InstanceDir, filenames.Disk) }

// Info implements driver.Driver.
func (d *Driver) Info() driver.Info {
	return driver.Info{
		Name:        Name,
		InstanceDir: d.cfg.InstanceDir,
		VirtioPort:  "io.lima-vm.guest_agent.0",
		Features: driver.Features{
			SupportsSnapshots:     true,
			SupportedImageFormats: []string{"raw"},
		},
	}
}

// Validate implements driver.Driver: it accepts any configuration with an instance directory.
func (d *Driver) Validate(ctx context.Context) error {
	if d.cfg.InstanceDir == "" {
		return fmt.Errorf("fake driver: InstanceDir is empty: %w", driver.ErrInvalidConfig)
	}
	return nil
}

// Create implements driver.Driver.
func (d *Driver) Create(ctx context.Context) error {
	mu.Lock()
	defer mu.Unlock()
	d.state().created = true
	return nil
}

// CreateDisk implements driver.Driver: it copies the base image to the disk.
func (d *Driver) CreateDisk(ctx context.Context) error {
	mu.Lock()
	running := d.state().running != nil
	mu.Unlock()
	if running {
		return fmt.Errorf("instance %q: cannot change the disk of a running instance; stop it first: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	if _, err := os.Stat(d.diskPath()); err == nil {
		return nil
	}
	base := d.cfg.BaseImagePath()
	src, err := os.Open(base)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("base image %s does not exist; download the image first: %w", base, driver.ErrNotFound)
		}
		return fmt.Errorf("fake driver: %w", err)
	}
	defer src.Close()
	dst, err := os.OpenFile(d.diskPath()+".tmp", os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("fake driver: %w", err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("fake driver: copying the base image: %w", err)
	}
	if err := dst.Close(); err != nil {
		return err
	}
	return os.Rename(d.diskPath()+".tmp", d.diskPath())
}

// Start implements driver.Driver.
func (d *Driver) Start(ctx context.Context) (<-chan error, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("fake driver: start: %w", err)
	}
	mu.Lock()
	defer mu.Unlock()
	inst := d.state()
	if inst.running != nil {
		return nil, fmt.Errorf("instance %q is already running: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	if _, err := os.Stat(d.diskPath()); err != nil {
		return nil, fmt.Errorf("instance %q has no disk %s; run CreateDisk (limactl start does) first: %w", d.cfg.Name, d.diskPath(), driver.ErrNotFound)
	}
	v := &vm{stop: make(chan struct{}), done: make(chan struct{}), errCh: make(chan error, 1)}
	inst.running = v
	go func() {
		<-v.stop
		mu.Lock()
		inst.running = nil
		mu.Unlock()
		v.errCh <- nil
		close(v.errCh)
		close(v.done)
	}()
	return v.errCh, nil
}

// Stop implements driver.Driver. The fake guest powers off at once.
func (d *Driver) Stop(ctx context.Context) error { return d.Kill(ctx) }

// Kill implements driver.Driver.
func (d *Driver) Kill(ctx context.Context) error {
	mu.Lock()
	v := d.state().running
	mu.Unlock()
	if v == nil {
		return nil
	}
	select {
	case <-v.stop:
	default:
		close(v.stop)
	}
	select {
	case <-v.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("fake driver: stop: %w", ctx.Err())
	}
}

// Delete implements driver.Driver.
func (d *Driver) Delete(ctx context.Context) error {
	mu.Lock()
	defer mu.Unlock()
	if d.state().running != nil {
		return fmt.Errorf("instance %q is running; stop it before deleting: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	if err := os.Remove(d.diskPath()); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("fake driver: %w", err)
	}
	delete(instances, d.cfg.InstanceDir)
	return nil
}

// Status implements driver.Driver.
func (d *Driver) Status(ctx context.Context) (driver.Status, error) {
	mu.Lock()
	defer mu.Unlock()
	if inst, ok := instances[d.cfg.InstanceDir]; ok && inst.running != nil {
		return driver.StatusRunning, nil
	}
	return driver.StatusStopped, nil
}

// BootScripts implements driver.Driver.
func (d *Driver) BootScripts() map[string][]byte { return nil }

// SSHAddress implements driver.Driver.
func (d *Driver) SSHAddress(ctx context.Context) (string, error) { return "127.0.0.1", nil }

// GuestAgentConn implements driver.Driver: an in-memory connection to an echo server.
func (d *Driver) GuestAgentConn(ctx context.Context) (net.Conn, error) {
	mu.Lock()
	running := d.state().running != nil
	mu.Unlock()
	if !running {
		return nil, fmt.Errorf("instance %q is not running: %w", d.cfg.Name, driver.ErrNotRunning)
	}
	host, guest := net.Pipe()
	go func() {
		defer guest.Close()
		_, _ = io.Copy(guest, guest)
	}()
	return host, nil
}

// GuestAgentTunnelConn implements driver.Driver: the fake has no tunnel.
func (d *Driver) GuestAgentTunnelConn(ctx context.Context) (net.Conn, error) {
	return nil, fmt.Errorf("fake driver: no guest-agent tunnel: %w", driver.ErrUnsupported)
}
