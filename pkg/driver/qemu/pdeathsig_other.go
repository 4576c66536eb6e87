//go:build !linux

package qemu

import "syscall"

// withParentDeathSignal is a no-op where the kernel has no parent-death signal (a may be nil there); `limactl stop -f`
// and the next start clean up a QEMU left behind by a killed host agent.
func withParentDeathSignal(a *syscall.SysProcAttr) *syscall.SysProcAttr { return a }
