package qemu

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/qemuimg"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Snapshots of a running instance go through QMP (savevm/loadvm/delvm: disk and memory); of a stopped
// one through `qemu-img snapshot` on the disk (disk only). Both live inside the qcow2 overlay, which
// qemu-img opens as qcow2 (--image-opts: `snapshot` has no -f), never guessing its format.

const snapshotTimeout = 10 * time.Minute

func validTag(tag string) error {
	if tag == "" || strings.ContainsAny(tag, " \t\n,") {
		return fmt.Errorf("snapshot tag %q must be non-empty, without spaces or commas: %w", tag, driver.ErrInvalidConfig)
	}
	return nil
}

// withQMP runs f on a QMP connection when QEMU runs, and reports whether it did.
func (d *Driver) withQMP(ctx context.Context, f func(*QMP) error) (bool, error) {
	if d.runningPID() == 0 {
		return false, nil
	}
	socks, _, _, err := d.sockets()
	if err != nil {
		return true, err
	}
	q, err := DialQMP(ctx, socks.QMP)
	if err != nil {
		return true, err
	}
	defer q.Close()
	return true, f(q)
}

func (d *Driver) offlineSnapshots(ctx context.Context) ([]driver.Snapshot, string, error) {
	disk := d.path(filenames.Disk)
	if _, err := os.Stat(disk); err != nil {
		return nil, disk, fmt.Errorf("instance %q has no disk yet: %w", d.cfg.Name, driver.ErrNotFound)
	}
	out, err := runQEMUImg(ctx, "snapshot", "--image-opts", "-l", qemuimg.ImageOpts("qcow2", disk))
	if err != nil {
		return nil, disk, err
	}
	return ParseSnapshotList(string(out)), disk, nil
}

func hasTag(list []driver.Snapshot, tag string) bool {
	return slices.ContainsFunc(list, func(s driver.Snapshot) bool { return s.Tag == tag })
}

// snapshotOp checks the tag against the current list (want: whether it must exist), then runs the
// online or offline operation.
func (d *Driver) snapshotOp(ctx context.Context, tag string, mustExist bool, online func(*QMP) error, offlineFlag string) error {
	if err := validTag(tag); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, snapshotTimeout)
	defer cancel()
	check := func(list []driver.Snapshot) error {
		switch has := hasTag(list, tag); {
		case mustExist && !has:
			return fmt.Errorf("snapshot %q of instance %q: %w", tag, d.cfg.Name, driver.ErrNotFound)
		case !mustExist && has:
			return fmt.Errorf("snapshot %q of instance %q: %w", tag, d.cfg.Name, driver.ErrAlreadyExists)
		}
		return nil
	}
	ran, err := d.withQMP(ctx, func(q *QMP) error {
		list, err := q.Snapshots(ctx)
		if err != nil {
			return err
		}
		if err := check(list); err != nil {
			return err
		}
		return classifyHMPError(online(q))
	})
	if ran {
		return err
	}
	list, disk, err := d.offlineSnapshots(ctx)
	if err != nil {
		return err
	}
	if err := check(list); err != nil {
		return err
	}
	_, err = runQEMUImg(ctx, "snapshot", "--image-opts", offlineFlag, tag, qemuimg.ImageOpts("qcow2", disk))
	return err
}

// classifyHMPError marks QEMU's "this VM cannot be snapshotted" refusals (a mounted 9p share, a
// non-migratable device) as ErrUnsupported.
func classifyHMPError(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if strings.Contains(msg, "Migration is disabled") || strings.Contains(msg, "blocked by") || strings.Contains(msg, "non-migratable") {
		return fmt.Errorf("%w (unmount 9p shares in the guest, or stop the instance to snapshot its disk only): %w", err, driver.ErrUnsupported)
	}
	return err
}

// CreateSnapshot implements driver.Driver.
func (d *Driver) CreateSnapshot(ctx context.Context, tag string) error {
	return d.snapshotOp(ctx, tag, false, func(q *QMP) error { return q.SaveVM(ctx, tag) }, "-c")
}

// ApplySnapshot implements driver.Driver.
func (d *Driver) ApplySnapshot(ctx context.Context, tag string) error {
	return d.snapshotOp(ctx, tag, true, func(q *QMP) error { return q.LoadVM(ctx, tag) }, "-a")
}

// DeleteSnapshot implements driver.Driver.
func (d *Driver) DeleteSnapshot(ctx context.Context, tag string) error {
	return d.snapshotOp(ctx, tag, true, func(q *QMP) error { return q.DelVM(ctx, tag) }, "-d")
}

// ListSnapshots implements driver.Driver.
func (d *Driver) ListSnapshots(ctx context.Context) ([]driver.Snapshot, error) {
	var list []driver.Snapshot
	ran, err := d.withQMP(ctx, func(q *QMP) (err error) { list, err = q.Snapshots(ctx); return err })
	if ran {
		return list, err
	}
	list, _, err = d.offlineSnapshots(ctx)
	return list, err
}
