//go:build !windows

package osutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// startProcess starts `sleep 60` with argv[0] set to argv0 (as `exec -a` does), so that its command
// line can name an instance directory; the test kills and reaps it.
func startProcess(t *testing.T, argv0 string) int {
	t.Helper()
	cmd := exec.Command("sleep", "60")
	if argv0 != "" {
		cmd.Args[0] = argv0
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd.Process.Pid
}

// writePIDFile writes pid into dir/name and returns the file's modification time.
func writePIDFile(t *testing.T, dir, name string, pid int) time.Time {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.ModTime()
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestCheckIdentity(t *testing.T) {
	instDir := filepath.Join(t.TempDir(), "vm")
	if err := os.Mkdir(instDir, 0o755); err != nil {
		t.Fatal(err)
	}
	match := ArgsNameDir(instDir)

	// A live process that has nothing to do with the instance: not ours, and not touched.
	unrelated := startProcess(t, "")
	written := writePIDFile(t, instDir, "ha.pid", unrelated)
	if id, why := CheckIdentity(unrelated, written, match); id != IdentityMismatch {
		t.Errorf("unrelated sleep: %v (%s), want mismatch", id, why)
	}
	if !ProcessAlive(unrelated) {
		t.Fatal("the unrelated process died")
	}

	// A process whose argv names the instance directory, recorded after it started: ours.
	ours := startProcess(t, filepath.Join(instDir, "qemu-system-x86_64"))
	written = writePIDFile(t, instDir, "qemu.pid", ours)
	if id, why := CheckIdentity(ours, written, match); id != IdentityConfirmed {
		t.Errorf("instance process: %v (%s), want confirmed", id, why)
	}
	// The same process named by a file written (say, before a reboot) before it started: not the
	// writer, even though its command line fits.
	if id, why := CheckIdentity(ours, time.Now().Add(-time.Minute), match); id != IdentityMismatch {
		t.Errorf("pid file older than the process: %v (%s), want mismatch", id, why)
	}
	// Within the slack (QEMU writes its own -pidfile a moment after it started): still ours.
	start, err := processStart(ours)
	if err != nil {
		t.Fatal(err)
	}
	if id, why := CheckIdentity(ours, start.Add(-PIDFileSlack/2), match); id != IdentityConfirmed {
		t.Errorf("pid file written within the slack: %v (%s), want confirmed", id, why)
	}

	// This process knows who it is: its own pid needs no command-line match.
	if id, why := CheckIdentity(os.Getpid(), time.Now(), func([]string) bool { return false }); id != IdentityConfirmed {
		t.Errorf("own pid: %v (%s), want confirmed", id, why)
	}
	// A nil matcher checks the start time only.
	if id, why := CheckIdentity(unrelated, time.Now(), nil); id != IdentityConfirmed {
		t.Errorf("nil matcher: %v (%s), want confirmed", id, why)
	}
}

func TestProcessStartAndArgs(t *testing.T) {
	before := time.Now()
	pid := startProcess(t, "/x/.lima/vm/argv0")
	start, err := processStart(pid)
	if err != nil {
		t.Fatal(err)
	}
	// Linux reports the start in clock ticks (10 ms); allow for that and for scheduling.
	if start.Before(before.Add(-time.Second)) || start.After(time.Now().Add(time.Second)) {
		t.Errorf("start of a child started at %s = %s", before, start)
	}
	if self, err := processStart(os.Getpid()); err != nil || self.After(before.Add(100*time.Millisecond)) {
		t.Errorf("own start = %s, %v; want before %s (give or take two clock ticks)", self, err, before)
	}
	// Start returns once the exec is past its point of no return, which is before the kernel
	// has set up the new command line: until then it reads empty.
	args, err := ProcessArgs(pid)
	for deadline := time.Now().Add(5 * time.Second); err == nil && len(args) == 0 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		args, err = ProcessArgs(pid)
	}
	if err != nil || len(args) != 2 || args[0] != "/x/.lima/vm/argv0" || args[1] != "60" {
		t.Errorf("args = %q, %v; want [/x/.lima/vm/argv0 60]", args, err)
	}
}

func TestArgsMatchers(t *testing.T) {
	dir := "/home/u/.lima/vm"
	nameDir := ArgsNameDir(dir)
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"limactl", "hostagent", "--pidfile", dir + "/ha.pid", "vm"}, true},
		{[]string{"qemu-system-x86_64", "-drive", "file=" + dir + "/diffdisk,if=virtio"}, true},
		{[]string{"tool", dir}, true},
		{[]string{"limactl", "hostagent", "--pidfile", dir + "2/ha.pid", "vm2"}, false},
		{[]string{"sleep", "60"}, false},
	} {
		if got := nameDir(c.args); got != c.want {
			t.Errorf("ArgsNameDir(%s)(%q) = %v, want %v", dir, c.args, got, c.want)
		}
	}
	pidFile := dir + "/qemu.pid"
	for _, c := range []struct {
		args []string
		want bool
	}{
		{[]string{"qemu-system-aarch64", "-pidfile", pidFile}, true},
		{[]string{"limactl", "hostagent", "--pidfile=" + pidFile}, true},
		{[]string{"qemu-system-aarch64", "-pidfile", dir + "/other.pid"}, false},
		{[]string{"cat", pidFile}, false},
		{[]string{"qemu-system-aarch64", "-pidfile"}, false},
	} {
		if got := ArgsWritePIDFile(c.args, pidFile); got != c.want {
			t.Errorf("ArgsWritePIDFile(%q) = %v, want %v", c.args, got, c.want)
		}
	}
}
