package vz

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/osutil"
)

// TestUnrelatedVZPID: vz.pid names a live process that is not the instance's (its pid was reused
// after a reboot). The VM is not running, the file is removed, and Stop and Kill leave the process
// alone.
func TestUnrelatedVZPID(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sleep")
	}
	dir := filepath.Join(t.TempDir(), "vm1")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pid := cmd.Process.Pid

	cfg := driver.Config{Name: "vm1", InstanceDir: dir, Config: baseConfig(limayaml.GoArchToLima(runtime.GOARCH))}
	d := NewWithOptions(cfg, Options{Hypervisor: &fakeHypervisor{}, Host: testHost()})
	ctx := context.Background()
	for _, op := range []string{"Status", "Stop", "Kill"} {
		if err := os.WriteFile(d.pidFile(), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		var err error
		switch op {
		case "Status":
			var st driver.Status
			if st, err = d.Status(ctx); st != driver.StatusStopped {
				t.Errorf("Status = %s, want Stopped", st)
			}
		case "Stop":
			err = d.Stop(ctx)
		case "Kill":
			err = d.Kill(ctx)
		}
		if err != nil {
			t.Errorf("%s: %v", op, err)
		}
		if exists(d.pidFile()) {
			t.Errorf("%s left the stale vz.pid", op)
		}
		if !osutil.ProcessAlive(pid) {
			t.Fatalf("%s killed the unrelated process", op)
		}
	}
}
