package disk

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store"
)

// ErrInUse is wrapped when a disk is locked by an instance and the operation needs it free.
var ErrInUse = errors.New("disk is in use")

// instanceRunning reports whether the instance in dir has a live host agent or hypervisor, judged
// from its pid files (a missing directory is a deleted instance: not running).
func instanceRunning(dir string) bool {
	matches, _ := filepath.Glob(filepath.Join(dir, "*.pid"))
	for _, m := range matches {
		if pid, err := store.ReadPIDFile(m); err != nil || pid != 0 {
			// An unreadable pid file is treated as running: never take a disk from a live guest.
			return true
		}
	}
	return false
}

// lockHolder returns the instance directory the in_use_by symlink of disk dir points to, or "".
func lockHolder(dir string) (string, error) {
	target, err := os.Readlink(filepath.Join(dir, InUseBy))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	return target, err
}

// LockForInstance marks disk name as used by the instance in instDir, creating the in_use_by
// symlink. It succeeds when that instance already holds the lock (a restart after a crash). A lock
// held by another instance that is stopped or deleted is taken over with a warning; one held by a
// running instance is an error wrapping ErrInUse.
func LockForInstance(name, instDir string) error {
	dir, err := Path(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, DataDisk)); err != nil {
		return notExist("additional disk %#q does not exist; create it with `limactl disk create %s --size SIZE`", name, name)
	}
	link := filepath.Join(dir, InUseBy)
	for attempt := 0; ; attempt++ {
		err := os.Symlink(instDir, link)
		if err == nil {
			return nil
		}
		if !errors.Is(err, fs.ErrExist) || attempt > 0 {
			return fmt.Errorf("cannot lock disk %#q for %s: %w", name, instDir, err)
		}
		holder, rerr := lockHolder(dir)
		if rerr != nil {
			return fmt.Errorf("cannot read the lock of disk %#q: %w", name, rerr)
		}
		if sameDir(holder, instDir) {
			return nil
		}
		if instanceRunning(holder) {
			return fmt.Errorf("disk %#q is used by the running instance %#q; stop it or remove %#q from its additionalDisks: %w",
				name, filepath.Base(holder), name, ErrInUse)
		}
		logrus.Warnf("Disk %#q was locked by the stopped or deleted instance %#q; taking it over for %#q",
			name, filepath.Base(holder), filepath.Base(instDir))
		if err := os.Remove(link); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("cannot remove the stale lock of disk %#q: %w", name, err)
		}
	}
}

// UnlockForInstance removes the lock of disk name if instDir holds it; a lock held by another
// instance is left alone, and a missing lock is not an error.
func UnlockForInstance(name, instDir string) error {
	dir, err := Path(name)
	if err != nil {
		return err
	}
	holder, err := lockHolder(dir)
	if err != nil || holder == "" {
		return err
	}
	if !sameDir(holder, instDir) {
		return nil
	}
	if err := os.Remove(filepath.Join(dir, InUseBy)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot unlock disk %#q: %w", name, err)
	}
	return nil
}

// UnlockAllForInstance releases the locks the instance in instDir holds on disks (its
// additionalDisks), as drivers do when the guest stops. A failure is logged, not returned: the next
// LockForInstance takes over a stopped instance's lock anyway.
func UnlockAllForInstance(disks []limayaml.Disk, instDir string) {
	for _, d := range disks {
		if err := UnlockForInstance(d.Name, instDir); err != nil && !errors.Is(err, ErrNotExist) {
			logrus.Warnf("instance %#q: releasing additional disk %#q: %v", filepath.Base(instDir), d.Name, err)
		}
	}
}

// Unlock removes the lock of disk name whoever holds it (`limactl disk unlock`), unless the holder
// runs: then it is an error wrapping ErrInUse. Unlocking a free disk does nothing.
func Unlock(name string) error {
	dir, err := Path(name)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(dir, DataDisk)); err != nil {
		return notExist("disk %#q does not exist", name)
	}
	holder, err := lockHolder(dir)
	if err != nil || holder == "" {
		return err
	}
	if instanceRunning(holder) {
		return fmt.Errorf("cannot unlock disk %#q used by running instance %#q (stop it first with `limactl stop %s`): %w",
			name, filepath.Base(holder), filepath.Base(holder), ErrInUse)
	}
	return os.Remove(filepath.Join(dir, InUseBy))
}

func sameDir(a, b string) bool {
	return filepath.Clean(a) == filepath.Clean(b) || strings.EqualFold(a, b) && filepath.Separator == '\\'
}
