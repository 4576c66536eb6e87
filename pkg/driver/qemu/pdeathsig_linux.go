package qemu

import "syscall"

// withParentDeathSignal makes the kernel send SIGTERM to QEMU when the process that started it (the
// host agent) dies, so a host agent killed with -9 leaves no guest behind. Go never ends the OS
// thread that forked the child unless a goroutine locked to it exits, which the callers do not do.
func withParentDeathSignal(a *syscall.SysProcAttr) *syscall.SysProcAttr {
	a.Pdeathsig = syscall.SIGTERM
	return a
}
