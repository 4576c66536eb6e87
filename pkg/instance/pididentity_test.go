package instance

import (
	"context"
	"testing"

	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// TestStalePIDFilesNeverSignalUnrelated plays a host reboot: ha.pid and qemu.pid name pids that now
// belong to unrelated processes. The instance is Stopped, and neither a stop (graceful or forced),
// a factory reset nor a forced delete signals those processes, even with an Instance whose pids were
// read before (as if inspected when the files were still right).
func TestStalePIDFilesNeverSignalUnrelated(t *testing.T) {
	setLimaHome(t)
	ctx := context.Background()
	inst := mustCreate(t, "vm")
	ha, hv := startSleeper(t, ""), startSleeper(t, "")
	writeStale := func() {
		writePID(t, inst.Dir, filenames.HostAgentPID, ha)
		writePID(t, inst.Dir, filenames.PIDFile(inst.VMType), hv)
	}
	survive := func(step string) {
		t.Helper()
		for _, pid := range []int{ha, hv} {
			if !osutil.ProcessAlive(pid) {
				t.Fatalf("%s killed the unrelated process %d", step, pid)
			}
		}
	}

	writeStale()
	if st := inspect(t, "vm"); st.Status != store.StatusStopped || st.HostAgentPID != 0 || st.DriverPID != 0 {
		t.Fatalf("status %q, pids %d/%d; want Stopped without pids", st.Status, st.HostAgentPID, st.DriverPID)
	}
	survive("Inspect")

	// An Instance inspected while the pids were (supposedly) the instance's.
	stale := inspect(t, "vm")
	stale.Status, stale.HostAgentPID, stale.DriverPID = store.StatusRunning, ha, hv

	writeStale()
	if err := StopGracefully(ctx, stale); err == nil {
		t.Error("StopGracefully of an unrelated host agent pid = nil, want an error")
	}
	survive("StopGracefully")

	writeStale()
	if err := StopForcibly(ctx, stale); err != nil {
		t.Errorf("StopForcibly: %v", err)
	}
	survive("StopForcibly")

	writeStale()
	if err := FactoryReset(ctx, stale); err != nil {
		t.Errorf("FactoryReset: %v", err)
	}
	survive("FactoryReset")

	writeStale()
	if err := Delete(ctx, stale, true); err != nil {
		t.Errorf("Delete: %v", err)
	}
	survive("Delete")
}
