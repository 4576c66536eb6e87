//go:build !windows

package wsl2

import "os/exec"

// hideWindow is a no-op where processes have no console windows (the fake wsl.exe on Linux).
func hideWindow(*exec.Cmd) {}
