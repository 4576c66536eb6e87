//go:build !windows

package osutil

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// ProcessAlive reports whether pid names a running process. A process owned by another user (EPERM)
// is alive; a zombie (exited, not yet reaped by its parent, e.g. QEMU under a frozen host agent) is
// not: it answers signal 0 but runs nothing. Zombies are detected on Linux only.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return !isZombie(pid)
}

// isZombie reads the state field of /proc/PID/stat; false where there is no procfs.
func isZombie(pid int) bool {
	if runtime.GOOS != "linux" {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name, which may itself hold ')': "pid (comm) S ...".
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// KillProcess sends SIGKILL to pid. A process that is already gone is not an error.
func KillProcess(pid int) error { return signal(pid, syscall.SIGKILL) }

// InterruptProcess sends SIGINT to pid (the host agent's signal for a graceful stop). A process that
// is already gone is not an error.
func InterruptProcess(pid int) error { return signal(pid, syscall.SIGINT) }

func signal(pid int, sig syscall.Signal) error {
	if pid <= 0 {
		// kill(0) or kill(-1) would signal a process group or every process.
		return fmt.Errorf("cannot signal pid %d: not a process id", pid)
	}
	if err := syscall.Kill(pid, sig); err != nil && !errors.Is(err, syscall.ESRCH) {
		return err
	}
	return nil
}

// SysProcAttrDetached starts a child in its own session: no signal from limactl's terminal (^C,
// hangup) reaches it, and it outlives the limactl that started it.
func SysProcAttrDetached() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }
