package store

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/osutil"
)

func writePID(t *testing.T, path string, pid int) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCheckPIDFileIdentity(t *testing.T) {
	instDir := t.TempDir()
	path := filepath.Join(instDir, "ha.pid")
	check := func(t *testing.T) PIDFile {
		t.Helper()
		f, err := CheckPIDFile(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}

	t.Run("unrelated process", func(t *testing.T) {
		pid := unrelatedPID(t)
		writePID(t, path, pid)
		if f := check(t); f != (PIDFile{Stale: true}) {
			t.Errorf("CheckPIDFile = %+v, want stale", f)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the stale pid file is still there: %v", err)
		}
		if err := ConfirmPID(path, pid, nil); err == nil {
			t.Error("ConfirmPID of an unrelated process = nil")
		}
		if !osutil.ProcessAlive(pid) {
			t.Error("the unrelated process died")
		}
	})

	t.Run("instance process written after it started", func(t *testing.T) {
		pid := livePID(t, instDir)
		writePID(t, path, pid)
		if f := check(t); f != (PIDFile{PID: pid, Confirmed: true}) {
			t.Errorf("CheckPIDFile = %+v, want pid %d confirmed", f, pid)
		}
		if err := ConfirmPID(path, pid, nil); err != nil {
			t.Errorf("ConfirmPID: %v", err)
		}
		if err := ConfirmPID(path, pid+1, nil); err == nil {
			t.Error("ConfirmPID of a pid the file does not name = nil")
		}
	})

	t.Run("pid file older than the process", func(t *testing.T) {
		pid := livePID(t, instDir)
		writePID(t, path, pid)
		old := time.Now().Add(-time.Hour) // say, written before the host rebooted
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		if f := check(t); f != (PIDFile{Stale: true}) {
			t.Errorf("CheckPIDFile = %+v, want stale", f)
		}
		if !osutil.ProcessAlive(pid) {
			t.Error("the process died")
		}
	})

	t.Run("writer named by its -pidfile argument", func(t *testing.T) {
		// QEMU's and the host agent's command lines name the file they write: that identifies them
		// even when the file seems older than the process (the wall clock stepped forward after the
		// file was written, as when a paused host resumes). `read` waits on a pipe nobody writes, in
		// the shell itself, so the test kills exactly the process it started.
		cmd := exec.Command("sh", "-c", "read x", "sh", "-pidfile", path)
		if _, err := cmd.StdinPipe(); err != nil {
			t.Fatal(err)
		}
		pid := startChild(t, cmd)
		writePID(t, path, pid)
		old := time.Now().Add(-time.Hour)
		if err := os.Chtimes(path, old, old); err != nil {
			t.Fatal(err)
		}
		if f := check(t); f != (PIDFile{PID: pid, Confirmed: true}) {
			t.Errorf("CheckPIDFile = %+v, want pid %d confirmed", f, pid)
		}
	})

	t.Run("foreground start", func(t *testing.T) {
		match := InstanceProcess(instDir)
		if !match([]string{"/usr/local/bin/limactl", "start", "--foreground", "template:default"}) {
			t.Error("`limactl start --foreground` is not accepted as a host agent")
		}
		if match([]string{"/usr/local/bin/limactl", "shell", "default"}) {
			t.Error("`limactl shell` is accepted as a host agent")
		}
	})
}

func TestInstanceProcessResolvesSymlinks(t *testing.T) {
	target, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(t.TempDir(), "lima")
	if err := os.Symlink(target, link); err != nil {
		t.Skip(err)
	}
	if !InstanceProcess(link)([]string{"qemu-system-x86_64", "-pidfile", filepath.Join(target, "qemu.pid")}) {
		t.Error("a process given the instance directory with symlinks resolved is not recognised")
	}
}
