package instance

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/registry"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// StopWait bounds how long StopGracefully waits for the host agent to shut the guest down before it
// falls back to StopForcibly (Lima: 3 min 10 s, just over the driver's own 3 min bound).
var StopWait = 3*time.Minute + 10*time.Second

func init() { StopForcibly = stopForcibly }

// StopGracefully asks the host agent of a running instance to stop the guest (SIGINT: it powers the
// guest down through the driver) and waits until both processes are gone. When they are not gone
// within StopWait, or ctx ends, the instance is stopped forcibly.
func StopGracefully(ctx context.Context, inst *store.Instance) error {
	// Lima's words: "expected status `Running`, got `Stopped` (maybe use `limactl stop -f`?)".
	switch {
	case inst.Status == store.StatusStopped:
		return fmt.Errorf("expected status %#q, got %#q (maybe use `limactl stop -f`?)", store.StatusRunning, inst.Status)
	case inst.HostAgentPID == 0:
		return fmt.Errorf("expected status %#q, got %#q (maybe use `limactl stop -f`?): %w", store.StatusRunning, inst.Status, errors.Join(inst.Errors...))
	}
	if err := store.ConfirmPID(filepath.Join(inst.Dir, filenames.HostAgentPID), inst.HostAgentPID, nil); err != nil {
		return fmt.Errorf("instance %#q: not signalling pid %d: %w; if no host agent runs, forget it with `limactl stop -f %s`", inst.Name, inst.HostAgentPID, err, inst.Name)
	}
	logrus.Infof("Sending SIGINT to hostagent process %d", inst.HostAgentPID)
	if err := interrupt(inst.HostAgentPID); err != nil {
		return fmt.Errorf("cannot signal the host agent (pid %d): %w", inst.HostAgentPID, err)
	}
	logrus.Info("Waiting for the host agent and the driver processes to shut down")
	deadline := time.Now().Add(StopWait)
	delay := 20 * time.Millisecond
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !osutil.ProcessAlive(inst.HostAgentPID) && !osutil.ProcessAlive(inst.DriverPID) {
			// The host agent removed its files; tidy whatever a crash may have left.
			removeStaleFiles(inst.Dir)
			logrus.Infof("The instance %s has shut down", inst.Name)
			return nil
		}
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
	logrus.Warnf("Instance %#q did not stop in time; killing it", inst.Name)
	return stopForcibly(context.Background(), inst)
}

// interrupt asks pid to stop with SIGINT; where the OS cannot interrupt another process (Windows), it
// kills it.
func interrupt(pid int) error {
	err := osutil.InterruptProcess(pid)
	if errors.Is(err, osutil.ErrNoInterrupt) {
		return osutil.KillProcess(pid)
	}
	return err
}

// stopForcibly kills the hypervisor and the host agent without asking the guest (`limactl stop -f`),
// then removes the instance's *.pid, *.sock and *.tmp files. It works on Broken instances, where one
// of the two processes is already gone.
func stopForcibly(ctx context.Context, inst *store.Instance) error {
	var errs []error
	if inst.Config != nil {
		if drv, err := registry.New(inst.VMType, driver.Config{Name: inst.Name, InstanceDir: inst.Dir, Config: inst.Config}); err == nil {
			if err := drv.Kill(ctx); err != nil {
				errs = append(errs, fmt.Errorf("killing the %s process: %w", inst.VMType, err))
			}
		}
	}
	var killed []int
	for _, p := range []struct {
		file string
		pid  int
	}{{filenames.PIDFile(inst.VMType), inst.DriverPID}, {filenames.HostAgentPID, inst.HostAgentPID}} {
		if p.pid <= 0 || !osutil.ProcessAlive(p.pid) {
			continue
		}
		// Only a pid its file still names, confirmed to be the instance's process, is killed: a
		// stale pid file must never make us kill an unrelated process.
		f, err := store.CheckPIDFile(filepath.Join(inst.Dir, p.file), nil)
		switch {
		case err != nil:
			logrus.Warnf("Not killing pid %d of %#q: %v", p.pid, inst.Name, err)
			continue
		case f.PID != p.pid:
			continue // it exited and removed its file, or the file was stale
		case !f.Confirmed:
			logrus.Warnf("Not killing pid %d of %#q: cannot confirm it is the instance's process (run with --debug for the reason); its pid file is removed", p.pid, inst.Name)
			continue
		}
		logrus.Infof("Killing pid %d of %#q", p.pid, inst.Name)
		if err := osutil.KillProcess(p.pid); err != nil {
			errs = append(errs, fmt.Errorf("cannot kill pid %d: %w", p.pid, err))
		}
		killed = append(killed, p.pid)
	}
	// Wait (briefly) for the killed processes to go, so the caller sees a Stopped instance.
	for i := 0; i < 100 && slices.ContainsFunc(killed, osutil.ProcessAlive); i++ {
		time.Sleep(20 * time.Millisecond)
	}
	removeStaleFiles(inst.Dir)
	return errors.Join(errs...)
}

// removeStaleFiles deletes the instance's *.pid, *.sock and *.tmp files (filenames.TmpFileSuffixes).
func removeStaleFiles(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		if slices.ContainsFunc(filenames.TmpFileSuffixes, func(s string) bool { return strings.HasSuffix(e.Name(), s) }) {
			_ = os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}
