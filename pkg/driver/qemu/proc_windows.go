package qemu

import (
	"os"
	"syscall"
)

// The qemu driver is registered on Linux and macOS only; these keep the package building on Windows.

func detached() *syscall.SysProcAttr { return nil }

func processAlive(pid int) bool {
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

func isQEMU(pid int) bool { return true }

func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	return p.Kill()
}
