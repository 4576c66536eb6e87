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

// QEMUImgInfo runs `qemu-img info --output=json` on path.
func QEMUImgInfo(ctx context.Context, path string) (*qemuimg.Info, error) {
	info, err := qemuimg.GetInfo(ctx, path, false)
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
// when the base lives there (the instance can then be moved), and absolutely otherwise.
func (d *Driver) CreateDisk(ctx context.Context) error {
	if d.runningPID() != 0 {
		return fmt.Errorf("instance %q is running; its disk cannot change now: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	want, err := d.diskSize()
	if err != nil {
		return err
	}
	disk := d.path(filenames.Disk)
	if _, err := os.Stat(disk); err == nil {
		return d.growDisk(ctx, disk, want)
	}
	base := d.cfg.BaseImagePath()
	if _, err := os.Stat(base); err != nil {
		return fmt.Errorf("base image %s: %w; download the image first (limactl start does): %w", base, err, driver.ErrNotFound)
	}
	if isISO(base) {
		return fmt.Errorf("base image %s is an ISO installer; ISO images are not supported yet, use a cloud disk image: %w", base, driver.ErrUnsupported)
	}
	info, err := QEMUImgInfo(ctx, base)
	if err != nil {
		return err
	}
	if !slices.Contains(d.Info().Features.SupportedImageFormats, info.Format) {
		return fmt.Errorf("base image %s has format %q; convert it to qcow2 or raw: %w", base, info.Format, driver.ErrUnsupported)
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
	args := []string{"create", "-f", "qcow2", "-F", info.Format, "-b", backing, tmp}
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

// growDisk applies a larger `disk:` to an existing disk. Shrinking would destroy data, so it is refused.
func (d *Driver) growDisk(ctx context.Context, disk string, want int64) error {
	if want == 0 {
		return nil
	}
	info, err := QEMUImgInfo(ctx, disk)
	if err != nil {
		return err
	}
	switch {
	case want == info.VirtualSize:
		return nil
	case want < info.VirtualSize:
		return fmt.Errorf("disk: %s is smaller than the existing disk (%s), and disks are never shrunk; set disk: back to at least %s: %w",
			*d.cfg.Config.Disk, units.BytesSize(float64(info.VirtualSize)), units.BytesSize(float64(info.VirtualSize)), driver.ErrInvalidConfig)
	}
	_, err = runQEMUImg(ctx, "resize", "-f", info.Format, disk, strconv.FormatInt(want, 10))
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
