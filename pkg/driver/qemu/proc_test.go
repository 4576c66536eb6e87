package qemu

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// TestQEMUPIDIdentity: qemu.pid is believed only for a process that is this instance's QEMU. A pid
// reused by an unrelated program after a reboot is stale (Stopped, never killed); a qemu-system
// process naming the instance directory is Running and is what Kill kills.
func TestQEMUPIDIdentity(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses sleep")
	}
	dir := t.TempDir()
	d := New(driver.Config{Name: "vm", InstanceDir: dir})
	ctx := context.Background()
	start := func(argv0 string) int {
		cmd := exec.Command("sleep", "60")
		if argv0 != "" {
			cmd.Args[0] = argv0
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
		// Until the child has exec'd, its command line is this test binary's or unreadable, and an
		// unreadable one counts as "cannot tell" (running): wait for sleep's own.
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if args, err := osutil.ProcessArgs(cmd.Process.Pid); err == nil && len(args) == 2 && args[1] == "60" {
				break
			}
		}
		return cmd.Process.Pid
	}
	pidFile := filepath.Join(dir, filenames.PIDFile(Name))
	write := func(pid int) {
		if err := os.WriteFile(pidFile, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}

	for _, argv0 := range []string{"", filepath.Join(t.TempDir(), "qemu-system-x86_64"), filepath.Join(dir, "not-qemu")} {
		pid := start(argv0)
		write(pid)
		if st, err := d.Status(ctx); err != nil || st != driver.StatusStopped {
			t.Errorf("argv[0] %q: Status = %s, %v; want Stopped", argv0, st, err)
		}
		write(pid)
		if err := d.Kill(ctx); err != nil {
			t.Errorf("argv[0] %q: Kill: %v", argv0, err)
		}
		if !osutil.ProcessAlive(pid) {
			t.Errorf("argv[0] %q: Kill killed a process that is not the instance's QEMU", argv0)
		}
		if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
			t.Errorf("argv[0] %q: the stale qemu.pid is still there (%v)", argv0, err)
		}
	}

	pid := start(filepath.Join(dir, "qemu-system-x86_64"))
	write(pid)
	if st, err := d.Status(ctx); err != nil || st != driver.StatusRunning {
		t.Fatalf("the instance's QEMU: Status = %s, %v; want Running", st, err)
	}
	if err := d.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if osutil.ProcessAlive(pid) {
		t.Error("Kill left the instance's QEMU running")
	}
}
