package osutil

import (
	"fmt"
	"os"
	"syscall"
)

// ProcessAlive reports whether pid names a process that can be opened.
func ProcessAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	_ = p.Release()
	return true
}

// KillProcess terminates pid. A process that is already gone is not an error.
func KillProcess(pid int) error {
	if pid <= 0 {
		return nil
	}
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil // gone (or never ours to open)
	}
	err = p.Kill()
	_ = p.Release()
	return err
}

// InterruptProcess cannot send a console interrupt to a detached process on Windows: it returns an
// error wrapping ErrNoInterrupt, and callers kill the process instead.
func InterruptProcess(pid int) error {
	return fmt.Errorf("interrupt pid %d: %w", pid, ErrNoInterrupt)
}

// SysProcAttrDetached is nil on Windows: a child already outlives its parent there.
func SysProcAttrDetached() *syscall.SysProcAttr { return nil }
