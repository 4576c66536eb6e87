package qemu

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"syscall"

	"github.com/limactl/limactl/pkg/osutil"
)

// detached starts QEMU (and virtiofsd) in its own session, so a terminal's ^C aimed at limactl does
// not reach it, and, on Linux, with a parent-death signal (see withParentDeathSignal).
func detached() *syscall.SysProcAttr {
	return withParentDeathSignal(osutil.SysProcAttrDetached())
}

// isQEMU reports whether pid runs a qemu-system binary, when the host can tell (Linux, via /proc);
// true when it cannot.
func isQEMU(pid int) bool {
	if runtime.GOOS != "linux" {
		return true
	}
	cmdline, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	if err != nil {
		return true
	}
	argv0, _, _ := bytes.Cut(cmdline, []byte{0})
	return bytes.Contains(argv0, []byte("qemu-system"))
}
