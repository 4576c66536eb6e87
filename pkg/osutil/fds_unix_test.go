//go:build unix

package osutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestNoInheritedFDs: a descriptor opened without close-on-exec (as flock(1) hands one to the
// command it runs) reaches a child process before NoInheritedFDs and not after.
func TestNoInheritedFDs(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads the child's /proc/self/fd")
	}
	fd, err := syscall.Open(filepath.Join(t.TempDir(), "lock"), syscall.O_CREAT|syscall.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "lock") // closes fd when the test ends
	defer f.Close()
	childHas := func() bool {
		out, err := exec.Command("sh", "-c", "ls /proc/self/fd").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range strings.Fields(string(out)) {
			if f == strconv.Itoa(fd) {
				return true
			}
		}
		return false
	}
	if !childHas() {
		t.Fatalf("fd %d without close-on-exec did not reach the child; the test proves nothing", fd)
	}
	NoInheritedFDs()
	if childHas() {
		t.Errorf("fd %d still reaches the child after NoInheritedFDs", fd)
	}
	// Explicitly passed files still arrive.
	cmd := exec.Command("sh", "-c", "ls /proc/self/fd")
	cmd.ExtraFiles = []*os.File{f}
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(" "+strings.Join(strings.Fields(string(out)), " ")+" ", " 3 ") {
		t.Errorf("an ExtraFiles descriptor did not reach the child as fd 3: %q", out)
	}
}
