//go:build !windows

package main

import (
	"fmt"
	"os"
	"syscall"
)

// execUsernet replaces limactl with lima-usernet (bin), keeping the pid, which the pid file names.
func execUsernet(bin string, args []string) error {
	if err := syscall.Exec(bin, append([]string{bin}, args...), os.Environ()); err != nil {
		return fmt.Errorf("cannot run %s: %w", bin, err)
	}
	return nil // not reached
}
