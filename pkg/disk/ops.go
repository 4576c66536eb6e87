package disk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/docker/go-units"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/qemuimg"
)

// Delete removes disk name. A disk locked by an instance is refused (ErrInUse) unless force is set;
// force still refuses while the holder runs, because the guest has the image open. An incomplete
// disk (no datadisk yet: an interrupted create or import) is removed as well.
func Delete(ctx context.Context, name string, force bool) error {
	d, err := Inspect(ctx, name)
	if errors.Is(err, ErrNotExist) {
		if dir, perr := Path(name); perr == nil {
			if st, serr := os.Lstat(dir); serr == nil && st.IsDir() {
				logrus.Warnf("Disk %q is incomplete (no %s); removing what is there", name, DataDisk)
				return os.RemoveAll(dir)
			}
		}
	}
	if err != nil {
		return err
	}
	if d.InstanceDir != "" {
		switch {
		case instanceRunning(d.InstanceDir):
			return fmt.Errorf("disk %q is used by the running instance %q; stop it with `limactl stop %s` first: %w",
				name, d.Instance, d.Instance, ErrInUse)
		case !force:
			return fmt.Errorf("disk %q is used by the instance %q; remove it from that instance's additionalDisks, or delete with --force: %w",
				name, d.Instance, ErrInUse)
		}
		logrus.Warnf("Deleting disk %q although the instance %q lists it", name, d.Instance)
	}
	return os.RemoveAll(d.Dir)
}

// Resize grows disk name to size bytes with `qemu-img resize`. Shrinking is refused (it would cut
// off the end of the guest's filesystem), and so is resizing a disk a running instance uses. The
// guest still has to grow its filesystem (resize2fs, xfs_growfs) after the next boot.
func Resize(ctx context.Context, name string, size int64) (*Disk, error) {
	d, err := Inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if d.InstanceDir != "" && instanceRunning(d.InstanceDir) {
		return nil, fmt.Errorf("disk %q is used by the running instance %q; stop it with `limactl stop %s` before resizing: %w",
			name, d.Instance, d.Instance, ErrInUse)
	}
	switch {
	case size < d.Size:
		return nil, fmt.Errorf("disk %q is %s; shrinking it to %s is not supported (only growing is)",
			name, units.BytesSize(float64(d.Size)), units.BytesSize(float64(size)))
	case size == d.Size:
		logrus.Infof("Disk %q is already %s", name, units.BytesSize(float64(size)))
		return d, nil
	}
	if _, err := qemuimg.Run(ctx, "resize", "-f", d.Format, filepath.Join(d.Dir, DataDisk), fmt.Sprint(size)); err != nil {
		return nil, err
	}
	return Inspect(ctx, name)
}

// Import makes disk name from a copy of the qcow2 or raw image file. An image with a backing file is
// refused, since the copy would depend on a file outside the disk directory.
func Import(ctx context.Context, name, file string) (*Disk, error) {
	info, err := qemuimg.GetInfo(ctx, file, true)
	if err != nil {
		return nil, fmt.Errorf("cannot import %s: %w", file, err)
	}
	if err := ValidateFormat(info.Format); err != nil {
		return nil, fmt.Errorf("cannot import %s: %w (convert it first, e.g. `qemu-img convert -O qcow2 %s out.qcow2`)", file, err, file)
	}
	if info.BackingFile != "" {
		return nil, fmt.Errorf("cannot import %s: it has the backing file %s; flatten it first with `qemu-img convert -O qcow2 %s out.qcow2`",
			file, info.BackingFile, file)
	}
	dir, err := newDiskDir(name)
	if err != nil {
		return nil, err
	}
	if err := copyImage(ctx, file, filepath.Join(dir, DataDisk)); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("cannot import %s: %w", file, err)
	}
	return Inspect(ctx, name)
}

// copyImage copies src to the new image dst: into a temporary file in dst's directory, renamed to
// dst only when the copy is complete and on disk. Until then the disk is incomplete, never a disk
// with a truncated image.
func copyImage(ctx context.Context, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := atomicfile.Create(dst, 0o644)
	if err != nil {
		return err
	}
	defer out.Abort()
	// *os.File to *os.File: copy_file_range where available (a clone on btrfs and XFS).
	if _, err := io.Copy(out, in); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(filepath.Dir(dst)))
}
