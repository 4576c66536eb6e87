package fake

import (
	"context"
	"fmt"
	"slices"
	"strconv"

	"github.com/limactl/limactl/pkg/driver"
)

func (inst *instance) find(tag string) int {
	return slices.IndexFunc(inst.snapshots, func(s driver.Snapshot) bool { return s.Tag == tag })
}

// CreateSnapshot implements driver.Driver.
func (d *Driver) CreateSnapshot(ctx context.Context, tag string) error {
	mu.Lock()
	defer mu.Unlock()
	inst := d.state()
	if inst.find(tag) >= 0 {
		return fmt.Errorf("snapshot %q: %w", tag, driver.ErrAlreadyExists)
	}
	inst.nextID++
	inst.snapshots = append(inst.snapshots, driver.Snapshot{ID: strconv.Itoa(inst.nextID), Tag: tag, VMStateSize: "0 B"})
	return nil
}

// ApplySnapshot implements driver.Driver.
func (d *Driver) ApplySnapshot(ctx context.Context, tag string) error {
	mu.Lock()
	defer mu.Unlock()
	if d.state().find(tag) < 0 {
		return fmt.Errorf("snapshot %q: %w", tag, driver.ErrNotFound)
	}
	return nil
}

// DeleteSnapshot implements driver.Driver.
func (d *Driver) DeleteSnapshot(ctx context.Context, tag string) error {
	mu.Lock()
	defer mu.Unlock()
	inst := d.state()
	i := inst.find(tag)
	if i < 0 {
		return fmt.Errorf("snapshot %q: %w", tag, driver.ErrNotFound)
	}
	inst.snapshots = slices.Delete(inst.snapshots, i, i+1)
	return nil
}

// ListSnapshots implements driver.Driver.
func (d *Driver) ListSnapshots(ctx context.Context) ([]driver.Snapshot, error) {
	mu.Lock()
	defer mu.Unlock()
	return slices.Clone(d.state().snapshots), nil
}
