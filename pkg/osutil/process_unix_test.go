//go:build !windows

package osutil

import (
	"errors"
	"os/exec"
	"runtime"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// startSleeper starts a real child that runs until signalled; the test reaps it.
func startSleeper(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	cmd.SysProcAttr = SysProcAttrDetached()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

func TestProcessAliveAndSignals(t *testing.T) {
	cmd := startSleeper(t)
	pid := cmd.Process.Pid
	if !ProcessAlive(pid) {
		t.Fatalf("ProcessAlive(%d) = false for a running child", pid)
	}
	if sid, err := unix.Getsid(pid); err != nil || sid != pid {
		t.Errorf("detached child's session = %d, %v; want its own (%d)", sid, err, pid)
	}
	if err := InterruptProcess(pid); err != nil {
		t.Fatal(err)
	}
	var ee *exec.ExitError
	if err := cmd.Wait(); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGINT {
		t.Fatalf("child ended with %v; want killed by SIGINT", err)
	}
	if ProcessAlive(pid) {
		t.Errorf("ProcessAlive(%d) = true after the child was reaped", pid)
	}
	if err := KillProcess(pid); err != nil {
		t.Errorf("KillProcess of a gone process: %v; want nil", err)
	}
	if err := InterruptProcess(pid); err != nil {
		t.Errorf("InterruptProcess of a gone process: %v; want nil", err)
	}
}

func TestZombieIsNotAlive(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("zombies are detected through /proc")
	}
	cmd := startSleeper(t)
	pid := cmd.Process.Pid
	if err := KillProcess(pid); err != nil {
		t.Fatal(err)
	}
	// Not reaped yet: the child is a zombie until Wait. Poll its state (no timing assumption: the
	// kernel makes it a zombie as soon as SIGKILL is delivered, which this loop waits for).
	for !isZombie(pid) {
		runtime.Gosched()
	}
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("signal 0 to a zombie: %v; want it answered (that is why ProcessAlive checks /proc)", err)
	}
	if ProcessAlive(pid) {
		t.Errorf("ProcessAlive(%d) = true for a zombie", pid)
	}
}

func TestNoBroadcastSignals(t *testing.T) {
	for _, pid := range []int{0, -1} {
		if ProcessAlive(pid) {
			t.Errorf("ProcessAlive(%d) = true", pid)
		}
		if err := KillProcess(pid); err == nil {
			t.Errorf("KillProcess(%d) = nil; want an error, not a signal to a process group", pid)
		}
	}
}
