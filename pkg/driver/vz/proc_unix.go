//go:build !windows

package vz

import (
	"errors"
	"syscall"
)

// processAlive reports whether pid is a live process (EPERM means alive, owned by someone else).
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// interruptProcess sends SIGINT: the host agent's signal for a graceful stop.
func interruptProcess(pid int) error { return signalProcess(pid, syscall.SIGINT) }

// killProcess sends SIGKILL.
func killProcess(pid int) error { return signalProcess(pid, syscall.SIGKILL) }

func signalProcess(pid int, sig syscall.Signal) error {
	err := syscall.Kill(pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
