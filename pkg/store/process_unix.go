//go:build !windows

package store

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"

	"golang.org/x/sys/unix"
)

// processAlive reports whether pid runs. A zombie (exited, not yet reaped by its parent, e.g. QEMU
// under a frozen host agent) counts as dead: it answers signal 0 but runs nothing.
func processAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	if err != nil && !errors.Is(err, unix.EPERM) {
		return false
	}
	if runtime.GOOS == "linux" {
		if stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat"); err == nil {
			// The state follows the parenthesised command name: "pid (comm) S ...".
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				return false
			}
		}
	}
	return true
}
