package wsl2

import (
	"os/exec"
	"testing"
)

func TestHideWindow(t *testing.T) {
	cmd := exec.Command(Exe)
	hideWindow(cmd)
	if a := cmd.SysProcAttr; a == nil || !a.HideWindow || a.CreationFlags&createNoWindow == 0 {
		t.Errorf("SysProcAttr = %+v; want HideWindow and CREATE_NO_WINDOW", a)
	}
}
