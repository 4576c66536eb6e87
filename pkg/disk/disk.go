// Package disk manages Lima's additional disks: named data disks kept in $LIMA_HOME/_disks/NAME,
// created once and attached to instances that list them under additionalDisks.
//
// Each disk is a directory holding `datadisk` (a qcow2 or raw image), `format` (the image's format,
// recorded when the disk is made; see format.go) and, while an instance uses the disk, `in_use_by`:
// a symlink to that instance's directory. The symlink is the lock: creating it fails when it exists,
// so two instances never attach the same disk.
//
// `datadisk` is made under a temporary name in the disk's directory and renamed into place only
// when complete (pkg/atomicfile), so it is never half-written. A directory without it is an
// incomplete disk (a create or import in progress, or interrupted): it is not listed, its name
// cannot be reused until it is deleted, and Delete removes it.
package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/go-units"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/identifiers"
	"github.com/limactl/limactl/pkg/qemuimg"
	"github.com/limactl/limactl/pkg/store/dirnames"
)

// File names inside a disk directory (Lima's).
const (
	DataDisk = "datadisk"
	InUseBy  = "in_use_by"
)

// Formats a data disk may have.
const (
	FormatQCOW2 = "qcow2"
	FormatRaw   = "raw"
)

// ErrNotExist is wrapped when the named disk does not exist; ErrExist when it exists already.
var (
	ErrNotExist = fs.ErrNotExist
	ErrExist    = fs.ErrExist
)

// Disk is what Inspect learns about one disk. The JSON names follow Lima's `limactl disk list --json`.
type Disk struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	Format string `json:"format"`
	Dir    string `json:"dir"`
	// Instance is the name of the instance using the disk ("" when free); InstanceDir its directory.
	Instance    string `json:"instance"`
	InstanceDir string `json:"instanceDir"`
	// MountPoint is where the guest mounts the disk.
	MountPoint string `json:"mountPoint"`
}

// kindError is an error of a kind (ErrNotExist, ErrExist) whose text does not repeat the kind's.
type kindError struct {
	msg  string
	kind error
}

func (e *kindError) Error() string { return e.msg }
func (e *kindError) Unwrap() error { return e.kind }

func notExist(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrNotExist}
}

func exists(format string, args ...any) error {
	return &kindError{msg: fmt.Sprintf(format, args...), kind: ErrExist}
}

// Path returns the directory of disk name ($LIMA_HOME/_disks/NAME), checking the name.
func Path(name string) (string, error) {
	if err := identifiers.Validate(name); err != nil {
		return "", fmt.Errorf("disk name: %w", err)
	}
	dir, err := dirnames.LimaDisksDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, name), nil
}

// DataDiskPath returns the image file of disk name.
func DataDiskPath(name string) (string, error) {
	dir, err := Path(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, DataDisk), nil
}

// MountPoint is where the guest mounts disk name.
func MountPoint(name string) string { return "/mnt/lima-" + name }

// ParseSize parses a size such as "10GiB", "512M" or a byte count (binary units, as Lima's `disk:`).
func ParseSize(s string) (int64, error) {
	n, err := units.RAMInBytes(s)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("size %q is not a positive size such as 10GiB", s)
	}
	return n, nil
}

// ValidateFormat checks that format is one a data disk may have (qcow2 or raw).
func ValidateFormat(format string) error {
	if format != FormatQCOW2 && format != FormatRaw {
		return fmt.Errorf("disk format %#q not supported, use %q or %q instead", format, FormatQCOW2, FormatRaw)
	}
	return nil
}

// Create makes disk name of size bytes in format (qcow2 or raw) with `qemu-img create`.
func Create(ctx context.Context, name string, size int64, format string) (*Disk, error) {
	if format == "" {
		format = FormatQCOW2
	}
	if err := ValidateFormat(format); err != nil {
		return nil, err
	}
	if size <= 0 {
		return nil, fmt.Errorf("disk size must be positive, got %d", size)
	}
	dir, err := newDiskDir(name)
	if err != nil {
		return nil, err
	}
	if err := writeFormat(dir, format); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	img := filepath.Join(dir, DataDisk)
	tmp := atomicfile.TempName(img)
	if _, err := qemuimg.Run(ctx, "create", "-f", format, tmp, fmt.Sprint(size)); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	if err := publish(tmp, img); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return Inspect(ctx, name)
}

// publish renames the complete image tmp to img, durably, and makes the disk directory's own entry
// durable too.
func publish(tmp, img string) error {
	if err := atomicfile.Rename(tmp, img); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(filepath.Dir(img)))
}

// newDiskDir creates the directory of a new disk; it fails with ErrExist when the disk exists.
func newDiskDir(name string) (string, error) {
	dir, err := Path(name)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		if errors.Is(err, fs.ErrExist) {
			if !complete(dir) {
				return "", exists("disk %#q exists but is incomplete (%s has no %s: a `limactl disk create` or `import` of it is running or was interrupted); run `limactl disk delete %s` first",
					name, dir, DataDisk, name)
			}
			return "", exists("disk %#q already exists (%#q); pick another name or run `limactl disk delete %s`", name, dir, name)
		}
		return "", err
	}
	return dir, nil
}

// complete reports whether the disk directory dir holds its image.
func complete(dir string) bool {
	_, err := os.Lstat(filepath.Join(dir, DataDisk))
	return err == nil
}

// Inspect reads disk name: its format (see Format), virtual size and the instance using it. It does
// not check what the image refers to; Prepare does.
func Inspect(ctx context.Context, name string) (*Disk, error) {
	d, _, _, err := inspect(ctx, name)
	return d, err
}

// inspect is Inspect, which also returns `qemu-img info` of a qcow2 image (nil for a raw one, whose
// size is its file's) and whether the format was recorded.
func inspect(ctx context.Context, name string) (*Disk, *qemuimg.Info, bool, error) {
	dir, err := Path(name)
	if err != nil {
		return nil, nil, false, err
	}
	img := filepath.Join(dir, DataDisk)
	st, err := os.Stat(img)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, false, notExist("disk %#q does not exist; run `limactl disk list` to see the disks", name)
		}
		return nil, nil, false, err
	}
	format, recorded, err := Format(name)
	if err != nil {
		return nil, nil, false, err
	}
	d := &Disk{Name: name, Size: st.Size(), Format: format, Dir: dir, MountPoint: MountPoint(name)}
	var info *qemuimg.Info
	if format != FormatRaw {
		if info, err = qemuimg.GetInfo(ctx, img, format, true); err != nil {
			return nil, nil, false, fmt.Errorf("disk %#q: %w", name, err)
		}
		d.Size = info.VirtualSize
	}
	if target, err := os.Readlink(filepath.Join(dir, InUseBy)); err == nil {
		d.InstanceDir = target
		d.Instance = filepath.Base(target)
	}
	return d, info, recorded, nil
}

// Names lists the disks in $LIMA_HOME/_disks, sorted. Incomplete disks (see the package
// documentation) are left out.
func Names() ([]string, error) {
	names, _, err := scan()
	return names, err
}

// scan lists the disk directories in $LIMA_HOME/_disks, sorted: the disks, and the incomplete ones.
func scan() (names, incomplete []string, err error) {
	dir, err := dirnames.LimaDisksDir()
	if err != nil {
		return nil, nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, nil, nil
		}
		return nil, nil, err
	}
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") || identifiers.Validate(e.Name()) != nil {
			continue
		}
		if complete(filepath.Join(dir, e.Name())) {
			names = append(names, e.Name())
		} else {
			incomplete = append(incomplete, e.Name())
		}
	}
	sort.Strings(names)
	sort.Strings(incomplete)
	return names, incomplete, nil
}

// List inspects every disk. Incomplete disks are not listed; each gets a warning.
func List(ctx context.Context) ([]*Disk, error) {
	names, incomplete, err := scan()
	if err != nil {
		return nil, err
	}
	for _, n := range incomplete {
		logrus.Warnf("Disk %#q is incomplete (being created or imported, or interrupted) and not listed; `limactl disk delete %s` removes it", n, n)
	}
	disks := make([]*Disk, 0, len(names))
	for _, n := range names {
		d, err := Inspect(ctx, n)
		if err != nil {
			return nil, err
		}
		disks = append(disks, d)
	}
	return disks, nil
}
