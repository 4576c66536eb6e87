// Package lockutil serialises work on one instance across processes with an advisory lock (flock)
// on a file in the instance directory. create, start, delete and edit hold it while they change
// the instance, so two limactl processes never interleave their changes.
package lockutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/limactl/limactl/pkg/store/filenames"
)

// ErrLocked is returned by TryLock when another process holds the lock.
var ErrLocked = errors.New("locked by another process")

// Lock blocks until it holds an exclusive lock on path (created when missing) and returns the
// function that releases it. The lock also goes away when the process exits.
func Lock(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %w", path, err)
	}
	if err := flock(f, true); err != nil {
		f.Close()
		return nil, fmt.Errorf("cannot lock %s: %w", path, err)
	}
	return func() error { return errors.Join(funlock(f), f.Close()) }, nil
}

// TryLock is Lock without waiting: it returns an error wrapping ErrLocked when the lock is held.
func TryLock(path string) (unlock func() error, err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file %s: %w", path, err)
	}
	if err := flock(f, false); err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return func() error { return errors.Join(funlock(f), f.Close()) }, nil
}

// WithDirLock runs fn while holding the lock file of the instance directory dir.
func WithDirLock(dir string, fn func() error) error {
	unlock, err := Lock(filepath.Join(dir, filenames.InstanceLock))
	if err != nil {
		return err
	}
	return errors.Join(fn(), unlock())
}
