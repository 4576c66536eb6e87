//go:build !windows

package qemu

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"strconv"
	"syscall"
)

// detached puts QEMU in its own process group, so a terminal's ^C aimed at limactl does not reach it.
func detached() *syscall.SysProcAttr {
	return withParentDeathSignal(&syscall.SysProcAttr{Setpgid: true})
}

// processAlive reports whether pid is a live (not zombie) process.
func processAlive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	if err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	if runtime.GOOS == "linux" {
		stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err == nil {
			// The state follows the parenthesised command name: "pid (comm) S ...".
			if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
				return false
			}
		}
	}
	return true
}

// isQEMU reports whether pid runs a qemu-system binary, when the host can tell; true when it cannot.
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

func killProcess(pid int) error {
	err := syscall.Kill(pid, syscall.SIGKILL)
	if errors.Is(err, syscall.ESRCH) {
		return nil
	}
	return err
}
