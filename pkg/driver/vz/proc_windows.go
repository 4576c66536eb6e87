package vz

import (
	"errors"
	"os"
)

// The vz driver is registered on macOS only; these keep the package building (and its plan tested) on
// Windows.

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

func interruptProcess(pid int) error { return errors.New("no SIGINT on Windows") }

func killProcess(pid int) error {
	p, err := os.FindProcess(pid)
	if err != nil {
		return nil
	}
	return p.Kill()
}
