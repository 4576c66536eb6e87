package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/dirnames"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// StopForcibly kills the processes of a running instance and removes its pid and socket files.
// The stop implementation (pkg/instance's stop, owned elsewhere) replaces it; the default sends
// SIGKILL to the host agent and the driver process.
var StopForcibly = func(_ context.Context, inst *store.Instance) error {
	var errs []error
	for _, pid := range []int{inst.HostAgentPID, inst.DriverPID} {
		if pid <= 0 {
			continue
		}
		if p, err := os.FindProcess(pid); err == nil {
			if err := p.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) && !errors.Is(err, syscall.ESRCH) {
				errs = append(errs, fmt.Errorf("cannot kill pid %d: %w", pid, err))
			}
		}
	}
	return errors.Join(errs...)
}

// Delete removes the instance. A protected instance is refused, and so is a directory without
// lima.yaml (it may be a clone in progress). Without force the instance must
// be Stopped (or Broken without live processes); with force a running instance is stopped
// forcibly first. The directory is first renamed aside, so a partly removed instance never shows
// up in `limactl list`.
func Delete(ctx context.Context, inst *store.Instance, force bool) error {
	if inst.ConfigMissing() {
		return configMissingErr(inst)
	}
	if inst.Protected {
		return &protectedError{what: "removal"}
	}
	if !force && (inst.Status == store.StatusRunning || inst.HostAgentPID != 0 || inst.DriverPID != 0) {
		return fmt.Errorf("expected status %#q, got %#q (stop it with `limactl stop %s`, or delete it with `limactl delete --force %s`)",
			store.StatusStopped, inst.Status, inst.Name, inst.Name)
	}
	if inst.HostAgentPID != 0 || inst.DriverPID != 0 {
		if err := StopForcibly(ctx, inst); err != nil {
			return fmt.Errorf("cannot stop instance %#q before deleting it: %w", inst.Name, err)
		}
	}
	unlock, err := tryLock(inst)
	if err != nil {
		return err
	}
	defer func() { _ = unlock() }()
	releaseDisks(inst)
	limaDir, err := dirnames.LimaDir()
	if err != nil {
		return err
	}
	trash, release, err := makeTmpDir(limaDir, "delete-"+inst.Name+"-")
	if err != nil {
		return fmt.Errorf("cannot delete instance %#q: %w", inst.Name, err)
	}
	defer release()
	aside := filepath.Join(trash, inst.Name)
	if err := os.Rename(inst.Dir, aside); err != nil {
		_ = os.RemoveAll(trash)
		return fmt.Errorf("cannot delete instance %#q (%#q): %w", inst.Name, inst.Dir, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("instance %#q is gone, but removing its files from %#q failed; remove them by hand: %w", inst.Name, trash, err)
	}
	return nil
}

// tryLock takes the instance lock without waiting, so a delete or rename never races a create,
// edit or start of the same instance in another process, and never hangs behind one.
func tryLock(inst *store.Instance) (func() error, error) {
	unlock, err := lockutil.TryLock(filepath.Join(inst.Dir, filenames.InstanceLock))
	if errors.Is(err, lockutil.ErrLocked) {
		return nil, fmt.Errorf("instance %#q is busy: another limactl process is changing it; try again when it is done", inst.Name)
	}
	return unlock, err
}

// configMissingErr refuses to touch an instance directory without lima.yaml, in Lima's words: it may
// be a clone in progress.
func configMissingErr(inst *store.Instance) error {
	return fmt.Errorf("instance %#q directory %#q exists but its %#q could not be read; "+
		"it was NOT deleted, in case it is currently being cloned into. "+
		"If no `limactl` operation is using it, remove it manually", inst.Name, inst.Dir, filenames.LimaYAML)
}

func statusWord(inst *store.Instance) string {
	if inst.Status == "" {
		return "in an unknown state"
	}
	return "in status " + inst.Status
}

// releaseDisks removes the in_use_by links of the additional disks that point at this instance.
func releaseDisks(inst *store.Instance) {
	disksDir, err := dirnames.LimaDisksDir()
	if err != nil {
		return
	}
	for _, d := range inst.AdditionalDisks {
		link := filepath.Join(disksDir, d.Name, "in_use_by")
		if target, err := os.Readlink(link); err == nil && target == inst.Dir {
			_ = os.Remove(link)
		}
	}
}
