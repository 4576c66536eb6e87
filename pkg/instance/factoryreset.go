package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// keptOnReset reports whether a file survives FactoryReset: the configs (*.yaml), lima-version,
// protected, vz-identifier (the machine identity), and the lock itself.
func keptOnReset(name string) bool {
	switch name {
	case filenames.LimaVersion, filenames.Protected, filenames.VZIdentifier, filenames.InstanceLock:
		return true
	}
	return strings.HasSuffix(name, ".yaml")
}

// FactoryReset removes everything the instance gathered since it was created (disks, cloud-init
// seed, logs, keys), keeping only what keptOnReset keeps. A running (or Broken) instance is
// stopped forcibly first. The next start boots a fresh guest. As in Lima, a protected instance is
// refused, and so is a directory without lima.yaml (it may be a clone in progress).
func FactoryReset(ctx context.Context, inst *store.Instance) error {
	if inst.ConfigMissing() {
		return configMissingErr(inst)
	}
	if inst.Protected {
		return &protectedError{what: "factory-reset"}
	}
	if inst.HostAgentPID != 0 || inst.DriverPID != 0 {
		if err := StopForcibly(ctx, inst); err != nil {
			return fmt.Errorf("cannot stop instance %#q before resetting it: %w", inst.Name, err)
		}
	}
	return lockutil.WithDirLock(inst.Dir, func() error {
		entries, err := os.ReadDir(inst.Dir)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			if keptOnReset(e.Name()) {
				continue
			}
			if err := os.RemoveAll(filepath.Join(inst.Dir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("factory-reset of instance %#q is incomplete: %w", inst.Name, err)
		}
		return nil
	})
}
