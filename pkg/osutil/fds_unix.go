//go:build unix

package osutil

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// NoInheritedFDs marks every file descriptor above stderr that this process inherited as
// close-on-exec, so the processes it starts (the host agent, which outlives `limactl start`, and the
// hypervisor) do not keep them open. Without it, `flock LOCK limactl start ...` in a script leaves
// LOCK held for as long as the VM runs, and a pipe inherited from a caller never sees EOF.
// Descriptors Go opened itself are close-on-exec already; ExtraFiles given to exec.Cmd are still
// passed on. Call it first thing in main.
func NoInheritedFDs() {
	dir := "/proc/self/fd"
	if runtime.GOOS != "linux" {
		dir = "/dev/fd"
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return // no fd listing (a FreeBSD without fdescfs): nothing to do that is safe
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil || fd <= 2 {
			continue
		}
		syscall.CloseOnExec(fd) // an fd that is already gone (ReadDir's own) is ignored
	}
}
