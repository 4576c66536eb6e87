//go:build !windows

package store

import (
	"errors"

	"golang.org/x/sys/unix"
)

func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}
