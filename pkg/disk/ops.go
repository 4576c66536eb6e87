package disk

import (
	"context"
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
// disk (no datadisk yet: an interrupted create or import) is removed as well. The image is not
// read, so a disk whose format cannot be told is deleted like any other.
func Delete(ctx context.Context, name string, force bool) error {
	dir, err := Path(name)
	if err != nil {
		return err
	}
	if !complete(dir) {
		if st, serr := os.Lstat(dir); serr == nil && st.IsDir() {
			logrus.Warnf("Disk %#q is incomplete (no %s); removing what is there", name, DataDisk)
			return os.RemoveAll(dir)
		}
		return notExist("disk %#q does not exist; run `limactl disk list` to see the disks", name)
	}
	holder, err := lockHolder(dir)
	if err != nil {
		return fmt.Errorf("cannot read the lock of disk %#q: %w", name, err)
	}
	if holder != "" {
		instance := filepath.Base(holder)
		// Lima's words first: "cannot delete disk `x` in use by instance `y`".
		switch {
		case instanceRunning(holder):
			return fmt.Errorf("cannot delete disk %#q in use by instance %#q (it is running; stop it with `limactl stop %s` first): %w",
				name, instance, instance, ErrInUse)
		case !force:
			return fmt.Errorf("cannot delete disk %#q in use by instance %#q (remove it from that instance's additionalDisks, "+
				"run `limactl disk unlock %s` if the instance no longer uses it, or delete with --force): %w",
				name, instance, name, ErrInUse)
		}
		logrus.Warnf("Deleting disk %#q although the instance %#q holds its lock", name, instance)
	}
	return os.RemoveAll(dir)
}

// Resize grows disk name to size bytes with `qemu-img resize`. Shrinking is refused (it would cut
// off the end of the guest's filesystem), and so is resizing a disk a running instance uses. The
// guest still has to grow its filesystem (resize2fs, xfs_growfs) after the next boot. The disk's
// recorded format is passed to qemu-img, and an image that refers to another file is refused
// (Prepare).
func Resize(ctx context.Context, name string, size int64) (*Disk, error) {
	d, err := Prepare(ctx, name)
	if err != nil {
		return nil, err
	}
	if d.InstanceDir != "" && instanceRunning(d.InstanceDir) {
		return nil, fmt.Errorf("cannot resize disk %#q used by running instance %#q. Please stop the VM instance (`limactl stop %s`): %w",
			name, d.Instance, d.Instance, ErrInUse)
	}
	switch {
	case size < d.Size: // Lima's words
		return nil, fmt.Errorf("specified size %#q is less than the current disk size %#q. Disk shrinking is currently unavailable",
			units.BytesSize(float64(size)), units.BytesSize(float64(d.Size)))
	case size == d.Size:
		logrus.Infof("Disk %#q is already %s", name, units.BytesSize(float64(size)))
		return d, nil
	}
	if _, err := qemuimg.Run(ctx, "resize", "-f", d.Format, filepath.Join(d.Dir, DataDisk), fmt.Sprint(size)); err != nil {
		return nil, err
	}
	return Inspect(ctx, name)
}

// Import makes disk name from a copy of the qcow2 or raw image file, and records its format. The
// format is read from the file's first bytes (qemuimg.DetectFormat), never guessed by qemu-img. An
// image that refers to another file (a backing file, a data file) is refused, since QEMU would open
// that file on the guest's behalf; the copy is checked again before it becomes the disk, so a
// source that changes during the copy cannot slip one in.
func Import(ctx context.Context, name, file string) (*Disk, error) {
	format, err := checkImportable(ctx, file, file)
	if err != nil {
		return nil, fmt.Errorf("cannot import %s: %w", file, err)
	}
	dir, err := newDiskDir(name)
	if err != nil {
		return nil, err
	}
	if err := writeFormat(dir, format); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	verify := func(tmp string) error {
		if f, err := checkImportable(ctx, tmp, file); err != nil {
			return err
		} else if f != format {
			return fmt.Errorf("%s changed from %s to %s during the copy", file, format, f)
		}
		return nil
	}
	if err := copyImage(ctx, file, filepath.Join(dir, DataDisk), verify); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("cannot import %s: %w", file, err)
	}
	return Inspect(ctx, name)
}

// checkImportable returns the format of the image at path (a qcow2 or raw image that refers to no
// other file), or why it cannot be a disk; errors name the image as shown.
func checkImportable(ctx context.Context, path, shown string) (string, error) {
	format, err := qemuimg.DetectFormat(path)
	if err != nil {
		return "", err
	}
	if err := ValidateFormat(format); err != nil {
		return "", fmt.Errorf("%w (convert it first, e.g. `qemu-img convert -f %s -O qcow2 %s out.qcow2`)", err, format, shown)
	}
	if format == FormatRaw {
		return format, nil
	}
	info, err := qemuimg.GetInfo(ctx, path, format, true)
	if err != nil {
		return "", err
	}
	if err := qemuimg.RefuseExternalFiles(shown, info); err != nil {
		return "", err
	}
	return format, nil
}

// copyImage copies src to the new image dst: into a temporary file in dst's directory, which
// verify checks, renamed to dst only when the copy is complete, verified and on disk. Until then
// the disk is incomplete, never a disk with a truncated image.
func copyImage(ctx context.Context, src, dst string, verify func(tmp string) error) error {
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
	if err := verify(out.Name()); err != nil {
		return err
	}
	if err := out.Commit(); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(filepath.Dir(dst)))
}
