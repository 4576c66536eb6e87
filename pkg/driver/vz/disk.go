package vz

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/docker/go-units"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/qemuimg"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Image formats DetectFormat tells apart.
const (
	FormatRaw   = "raw"
	FormatQCOW2 = "qcow2"
	FormatVMDK  = "vmdk"
	FormatVHDX  = "vhdx"
	FormatISO   = "iso"
)

// DetectFormat reads the magic bytes of an image: qcow2 ("QFI\xfb"), VMDK ("KDMV"), VHDX ("vhdxfile"),
// ISO 9660 ("CD001" at 0x8001); anything else is raw.
func DetectFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 8)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	head = head[:n]
	switch {
	case bytes.HasPrefix(head, []byte("QFI\xfb")):
		return FormatQCOW2, nil
	case bytes.HasPrefix(head, []byte("KDMV")):
		return FormatVMDK, nil
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		return FormatVHDX, nil
	}
	cd := make([]byte, 5)
	if _, err := f.ReadAt(cd, 0x8001); err == nil && string(cd) == "CD001" {
		return FormatISO, nil
	}
	return FormatRaw, nil
}

// diskSize returns the `disk:` size in bytes, or 0 when unset.
func (d *Driver) diskSize() (int64, error) {
	if d.cfg.Config == nil || d.cfg.Config.Disk == nil || *d.cfg.Config.Disk == "" {
		return 0, nil
	}
	n, err := units.RAMInBytes(*d.cfg.Config.Disk)
	if err != nil {
		return 0, fmt.Errorf("vz: disk %q is not a size like \"100GiB\": %w", *d.cfg.Config.Disk, driver.ErrInvalidConfig)
	}
	return n, nil
}

// CreateDisk implements driver.Driver. Virtualization.framework reads only raw disks, so the disk is a
// raw copy of the base image: a sparse copy of a raw base, or `qemu-img convert -O raw` of a qcow2
// base (qemu-img must be installed for that). It is then grown (sparsely) to `disk:`. An existing disk
// is kept and only grown.
func (d *Driver) CreateDisk(ctx context.Context) error {
	if r, pid := d.owner(); r != nil || pid != 0 {
		return fmt.Errorf("instance %q is running; its disk cannot change now: %w", d.cfg.Name, driver.ErrAlreadyRunning)
	}
	want, err := d.diskSize()
	if err != nil {
		return err
	}
	disk := d.path(filenames.Disk)
	if exists(disk) {
		return growRaw(disk, want, d.cfg)
	}
	base := d.cfg.BaseImagePath()
	if _, err := os.Stat(base); err != nil {
		return fmt.Errorf("base image %s: %w; download the image first (limactl start does): %w", base, err, driver.ErrNotFound)
	}
	format, err := DetectFormat(base)
	if err != nil {
		return fmt.Errorf("vz: reading the base image: %w", err)
	}
	// Built under a temporary name and published with atomicfile.Rename (fsync, rename, directory
	// fsync): a crash never leaves a half-copied disk that the next start would boot. Prepare runs
	// under the instance lock, so temporary files of disk are a killed run's leftovers.
	_ = atomicfile.RemoveTemps(disk)
	tmp := atomicfile.TempName(disk)
	switch format {
	case FormatRaw:
		err = sparseCopy(ctx, base, tmp)
	case FormatQCOW2:
		err = qemuImgConvert(ctx, base, tmp)
	case FormatISO:
		return fmt.Errorf("base image %s is an ISO installer; vz needs a cloud disk image: %w", base, driver.ErrUnsupported)
	default:
		return fmt.Errorf("base image %s is %s; vz reads raw disks, and this driver converts only qcow2: convert it with `qemu-img convert -O raw`: %w",
			base, format, driver.ErrUnsupported)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := growRaw(tmp, want, d.cfg); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	if err := atomicfile.Rename(tmp, disk); err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

// growRaw grows a raw disk to want bytes (sparsely); a smaller want is refused, since shrinking would
// destroy data. want 0 keeps the size.
func growRaw(path string, want int64, cfg driver.Config) error {
	if want == 0 {
		return nil
	}
	if f, err := DetectFormat(path); err == nil && f != FormatRaw {
		return fmt.Errorf("disk %s is %s, but vz needs raw; delete the instance and create it again: %w", path, f, driver.ErrInvalidConfig)
	}
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	switch {
	case want == st.Size():
		return nil
	case want < st.Size():
		return fmt.Errorf("disk: %s is smaller than the disk (%s), and disks are never shrunk; set disk: to at least %s: %w",
			*cfg.Config.Disk, units.BytesSize(float64(st.Size())), units.BytesSize(float64(st.Size())), driver.ErrInvalidConfig)
	}
	return os.Truncate(path, want)
}

// sparseCopy copies src to dst, leaving holes where src has runs of zero blocks.
func sparseCopy(ctx context.Context, src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	const block = 1 << 20
	buf := make([]byte, block)
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			out.Close()
			return err
		}
		n, rerr := io.ReadFull(in, buf)
		if n > 0 {
			if isZero(buf[:n]) {
				off += int64(n)
			} else {
				if _, err := out.WriteAt(buf[:n], off); err != nil {
					out.Close()
					return err
				}
				off += int64(n)
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			out.Close()
			return rerr
		}
	}
	if err := out.Truncate(st.Size()); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// qemuImgConvert converts a qcow2 image to raw with qemu-img. An image that refers to another file
// (a backing file, a data file) is refused first: the conversion would copy that host file into
// the guest's disk (Lima's CVE-2023-32684).
func qemuImgConvert(ctx context.Context, src, dst string) error {
	info, err := qemuimg.GetInfo(ctx, src, FormatQCOW2, false)
	if errors.Is(err, qemuimg.ErrNotInstalled) {
		return fmt.Errorf("the base image is qcow2, and vz needs raw: install qemu-img (brew install qemu) so it can be converted, or use a raw image: %w", driver.ErrUnsupported)
	}
	if err != nil {
		return fmt.Errorf("base image: %w", err)
	}
	if err := qemuimg.RefuseExternalFiles(src, info); err != nil {
		return fmt.Errorf("base image: %w: %w", err, driver.ErrUnsupported)
	}
	cmd := exec.CommandContext(ctx, "qemu-img", "convert", "-f", FormatQCOW2, "-O", FormatRaw, src, dst)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return fmt.Errorf("the base image is qcow2, and vz needs raw: install qemu-img (brew install qemu) so it can be converted, or use a raw image: %w", driver.ErrUnsupported)
		}
		return fmt.Errorf("qemu-img convert %s: %w: %s", src, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}
