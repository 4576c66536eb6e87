package qemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/qemuimg"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// QEMUImgInfo runs `qemu-img info -f FORMAT --output=json` on path.
func QEMUImgInfo(ctx context.Context, path, format string) (*qemuimg.Info, error) {
	info, err := qemuimg.GetInfo(ctx, path, format, false)
	return info, wrapQEMUImgErr(err)
}

func runQEMUImg(ctx context.Context, args ...string) ([]byte, error) {
	out, err := qemuimg.Run(ctx, args...)
	return out, wrapQEMUImgErr(err)
}

// wrapQEMUImgErr marks a missing qemu-img as driver.ErrUnsupported.
func wrapQEMUImgErr(err error) error {
	if errors.Is(err, qemuimg.ErrNotInstalled) {
		return fmt.Errorf("%w: %w", err, driver.ErrUnsupported)
	}
	return err
}

// diskSize returns the `disk:` size in bytes, or 0 when unset.
func (d *Driver) diskSize() (int64, error) {
	if d.cfg.Config == nil || d.cfg.Config.Disk == nil || *d.cfg.Config.Disk == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(*d.cfg.Config.Disk)
	if err != nil {
		return 0, fmt.Errorf("disk %q is not a size like \"100GiB\": %w", *d.cfg.Config.Disk, driver.ErrInvalidConfig)
	}
	return n, nil
}

// CreateDisk implements driver.Driver: the disk is a qcow2 overlay whose backing file is the base
// image, so the base is never written. The backing file is named relative to the instance directory
// when the base lives there (the instance can then be moved), and absolutely otherwise, always with
// its format (-F), so QEMU never probes it.
//
// The base image comes from the internet. Its format is read from its magic bytes, never guessed
// by qemu-img, and an image that refers to another file (a backing file, a qcow2 data file, a VMDK
// extent) is refused: QEMU would open that host file on the guest's behalf (Lima's CVE-2023-32684).
// An existing disk is checked the same way at every call (checkDisk) before it is grown.
func (d *Driver) CreateDisk(ctx context.Context) error {
	if d.runningPID() != 0 {
		return fmt.Errorf("instance %q is running; its disk cannot change now: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	want, err := d.diskSize()
	if err != nil {
		return err
	}
	disk := d.path(filenames.Disk)
	base := d.cfg.BaseImagePath()
	if _, err := os.Stat(disk); err == nil {
		info, err := d.checkDisk(ctx, disk, base)
		if err != nil {
			return err
		}
		return d.growDisk(ctx, disk, info, want)
	}
	if _, err := os.Stat(base); err != nil {
		return fmt.Errorf("base image %s: %w; download the image first (limactl start does): %w", base, err, driver.ErrNotFound)
	}
	if isISO(base) {
		return fmt.Errorf("base image %s is an ISO installer; ISO images are not supported yet, use a cloud disk image: %w", base, driver.ErrUnsupported)
	}
	format, err := qemuimg.DetectFormat(base)
	if err != nil {
		return fmt.Errorf("base image: %w", err)
	}
	info, err := d.checkBaseImage(ctx, base, format)
	if err != nil {
		return err
	}
	if want > 0 && want < info.VirtualSize {
		return fmt.Errorf("disk %s is smaller than the image (%s); set disk: to at least that: %w",
			*d.cfg.Config.Disk, units.BytesSize(float64(info.VirtualSize)), driver.ErrInvalidConfig)
	}
	backing := base
	if rel, err := filepath.Rel(d.cfg.InstanceDir, base); err == nil && !strings.HasPrefix(rel, "..") && !filepath.IsAbs(rel) {
		backing = rel
	} else if abs, err := filepath.Abs(base); err == nil {
		backing = abs
	}
	// Built under a temporary name and published with atomicfile.Rename (fsync, rename, directory
	// fsync): a crash never leaves a half-made disk that the next start would boot. Prepare runs
	// under the instance lock, so temporary files of disk are a killed run's leftovers.
	_ = atomicfile.RemoveTemps(disk)
	tmp := atomicfile.TempName(disk)
	args := []string{"create", "-f", "qcow2", "-F", format, "-b", backing, tmp}
	if want > info.VirtualSize {
		args = append(args, strconv.FormatInt(want, 10))
	}
	if _, err := runQEMUImg(ctx, args...); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := atomicfile.Rename(tmp, disk); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// checkBaseImage reads the base image (of the given format) and refuses it when this driver cannot
// boot it or it refers to another file.
func (d *Driver) checkBaseImage(ctx context.Context, base, format string) (*qemuimg.Info, error) {
	if !slices.Contains(d.Info().Features.SupportedImageFormats, format) {
		return nil, fmt.Errorf("base image %s has format %q; convert it to qcow2 or raw: %w", base, format, driver.ErrUnsupported)
	}
	info, err := QEMUImgInfo(ctx, base, format)
	if err != nil {
		return nil, fmt.Errorf("base image: %w", err)
	}
	if err := qemuimg.RefuseExternalFiles(base, info); err != nil {
		return nil, fmt.Errorf("base image: %w: %w", err, driver.ErrUnsupported)
	}
	return info, nil
}

// checkDisk reads the existing disk (a qcow2 overlay, perhaps restored from a snapshot or brought
// from elsewhere) and refuses it unless the only file it refers to is the base image, named with
// its format, and the base image itself passes checkBaseImage.
func (d *Driver) checkDisk(ctx context.Context, disk, base string) (*qemuimg.Info, error) {
	info, err := QEMUImgInfo(ctx, disk, "qcow2")
	if err != nil {
		return nil, fmt.Errorf("disk %s must be a qcow2 overlay on the base image: %w", disk, err)
	}
	refused := func(field, file, why string) error {
		return fmt.Errorf("disk %s refers to the file %q (%s in `qemu-img info`), %s; delete the instance and create it again: %w: %w",
			disk, file, field, why, qemuimg.ErrExternalFile, driver.ErrUnsupported)
	}
	if f := info.FormatSpecific.Data.DataFile; f != "" {
		return nil, refused("format-specific.data.data-file", f, "and a disk with a data file is refused")
	}
	if info.BackingFile == "" && info.FullBackingFile == "" {
		return info, nil // flattened: refers to nothing
	}
	if field, file := "full-backing-filename", info.FullBackingFile; !samePath(file, base) {
		if file == "" {
			field, file = "backing-filename", info.BackingFile
		}
		return nil, refused(field, file, "which is not the instance's base image "+base)
	}
	if info.BackingFormat == "" {
		return nil, fmt.Errorf("disk %s names its backing file %s without a format, so QEMU would have to guess it; "+
			"record the format with `qemu-img rebase -u -f qcow2 -F FORMAT -b %s %s` (FORMAT: qcow2 or raw, what the image is): %w",
			disk, info.BackingFile, info.BackingFile, disk, driver.ErrUnsupported)
	}
	if _, err := os.Stat(base); err == nil {
		if _, err := d.checkBaseImage(ctx, base, info.BackingFormat); err != nil {
			return nil, err
		}
	}
	return info, nil
}

// samePath reports whether a and b name the same file: the same absolute path, or (through
// symbolic links) the same existing file.
func samePath(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if absA, err := filepath.Abs(a); err == nil {
		if absB, err := filepath.Abs(b); err == nil && absA == absB {
			return true
		}
	}
	stA, errA := os.Stat(a)
	stB, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(stA, stB)
}

// growDisk applies a larger `disk:` to the existing disk (info is its `qemu-img info`). Shrinking
// would destroy data, so it is refused.
func (d *Driver) growDisk(ctx context.Context, disk string, info *qemuimg.Info, want int64) error {
	if want == 0 {
		return nil
	}
	switch {
	case want == info.VirtualSize:
		return nil
	case want < info.VirtualSize:
		return fmt.Errorf("disk: %s is smaller than the existing disk (%s), and disks are never shrunk; set disk: back to at least %s: %w",
			*d.cfg.Config.Disk, units.BytesSize(float64(info.VirtualSize)), units.BytesSize(float64(info.VirtualSize)), driver.ErrInvalidConfig)
	}
	_, err := runQEMUImg(ctx, "resize", "-f", "qcow2", disk, strconv.FormatInt(want, 10))
	return err
}

// isISO reports whether path holds an ISO 9660 image ("CD001" at byte 0x8001).
func isISO(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	buf := make([]byte, 5)
	if _, err := f.ReadAt(buf, 0x8001); err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	return string(buf) == "CD001"
}
