//go:build !windows

package usernet

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/networks"
	"github.com/limactl/limactl/pkg/osutil"
)

// fakeUsernet is a shell standing in for `limactl usernet`: it creates the QEMU socket path (a
// plain file is enough for Acquire) and its pid file, as the real one does, and removes the pid
// file on SIGINT. Its argv keeps `usernet --pidfile PATH ...`, which identifies it.
const fakeUsernet = `while [ $# -gt 0 ]; do case "$1" in --pidfile) pid="$2";; --listen-qemu) q="$2";; esac; shift; done
trap 'rm -f "$pid"; exit 0' INT TERM
: >"$q"; echo $$ >"$pid"
while :; do sleep 0.05; done`

func testDaemon(t *testing.T, starts *atomic.Int32) *Daemon {
	t.Helper()
	dir, err := os.MkdirTemp("", "un") // short: socket paths must fit
	if err != nil {
		t.Fatal(err)
	}
	d := &Daemon{
		Name: "user-v2", Dir: dir,
		Config:      networks.Network{Mode: networks.ModeUserV2, Gateway: net.ParseIP("192.168.104.1")},
		StopTimeout: 2 * time.Second, StartTimeout: 10 * time.Second,
		Command: func(args []string) (*exec.Cmd, error) {
			starts.Add(1)
			return exec.Command("/bin/sh", append([]string{"-c", fakeUsernet}, args...)...), nil
		},
	}
	t.Cleanup(func() {
		if pid := d.Running(); pid != 0 {
			_ = osutil.KillProcess(pid)
		}
		os.RemoveAll(dir)
	})
	return d
}

func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("/bin/true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestDaemonRefcount(t *testing.T) {
	var starts atomic.Int32
	d := testDaemon(t, &starts)
	ctx := context.Background()
	me := os.Getpid()

	if err := d.Acquire(ctx, "a", me); err != nil {
		t.Fatal(err)
	}
	pid := d.Running()
	if pid == 0 || starts.Load() != 1 {
		t.Fatalf("after the first Acquire: pid %d, %d starts", pid, starts.Load())
	}
	if err := d.Acquire(ctx, "b", me); err != nil {
		t.Fatal(err)
	}
	if d.Running() != pid || starts.Load() != 1 {
		t.Fatalf("the second instance started another process (pid %d, %d starts)", d.Running(), starts.Load())
	}
	// An instance whose host agent died does not keep the network up.
	if err := d.Acquire(ctx, "c", me); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.usersDir(), "c"), []byte(strconv.Itoa(deadPID(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := d.Release("a"); err != nil {
		t.Fatal(err)
	}
	if d.Running() != pid {
		t.Fatal("Release of one of two instances stopped the network")
	}
	if users, _ := d.Users(); len(users) != 1 || users[0] != "b" {
		t.Fatalf("users = %v, want [b]", users)
	}
	if err := d.Release("b"); err != nil {
		t.Fatal(err)
	}
	if d.Running() != 0 || osutil.ProcessAlive(pid) {
		t.Fatalf("the last Release left pid %d running", pid)
	}
	// Released twice, or never acquired: no error, nothing to stop.
	if err := d.Release("b"); err != nil {
		t.Fatal(err)
	}
	// The next instance starts it again.
	if err := d.Acquire(ctx, "a", me); err != nil {
		t.Fatal(err)
	}
	if d.Running() == 0 || starts.Load() != 2 {
		t.Fatalf("after a restart: pid %d, %d starts", d.Running(), starts.Load())
	}
	if err := d.Release("a"); err != nil {
		t.Fatal(err)
	}
	if err := d.Acquire(ctx, "../x", me); err == nil {
		t.Error("an instance name with a slash was accepted")
	}
}

func TestDaemonConcurrentAcquire(t *testing.T) {
	var starts atomic.Int32
	d := testDaemon(t, &starts)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { errs[i] = d.Acquire(context.Background(), "vm"+strconv.Itoa(i), os.Getpid()) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if starts.Load() != 1 {
		t.Fatalf("%d concurrent first starts made %d processes, want 1", len(errs), starts.Load())
	}
	for i := range errs {
		if err := d.Release("vm" + strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	if d.Running() != 0 {
		t.Fatal("still running after every instance left")
	}
}

func TestDaemonStartFailure(t *testing.T) {
	var starts atomic.Int32
	d := testDaemon(t, &starts)
	d.Command = func(args []string) (*exec.Cmd, error) {
		return exec.Command("/bin/sh", "-c", "echo boom >&2; exit 3"), nil
	}
	err := d.Acquire(context.Background(), "a", os.Getpid())
	if err == nil {
		t.Fatal("a usernet process that exits at start was accepted")
	}
	if b, _ := os.ReadFile(d.logFile()); string(b) != "boom\n" {
		t.Errorf("log = %q", b)
	}
	if users, _ := d.Users(); len(users) != 0 {
		t.Errorf("a failed Acquire left users %v", users)
	}
}

func TestExitWhenUnused(t *testing.T) {
	dir := t.TempDir()
	users := filepath.Join(dir, "users")
	if err := os.MkdirAll(users, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, ok := UsersDirOf(filepath.Join(dir, "usernet_x.pid")); !ok {
		t.Fatal("UsersDirOf does not see the users directory")
	}
	if _, ok := UsersDirOf(filepath.Join(t.TempDir(), "usernet_x.pid")); ok {
		t.Fatal("UsersDirOf sees a users directory that is not there")
	}
	if err := os.WriteFile(filepath.Join(users, "a"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var calls atomic.Int32
	shut := make(chan struct{}, 1)
	go ExitWhenUnused(ctx, dir, 20*time.Millisecond, func() {
		calls.Add(1)
		shut <- struct{}{}
	})
	time.Sleep(150 * time.Millisecond)
	if calls.Load() != 0 {
		t.Fatal("shut down while an instance's host agent is alive")
	}
	// The host agent is gone (killed without a Release): its entry no longer counts.
	if err := os.WriteFile(filepath.Join(users, "a"), []byte(strconv.Itoa(deadPID(t))), 0o600); err != nil {
		t.Fatal(err)
	}
	select {
	case <-shut:
	case <-time.After(5 * time.Second):
		t.Fatal("no shutdown after the last user died")
	}
	if _, err := os.Stat(filepath.Join(users, "a")); !os.IsNotExist(err) {
		t.Errorf("the dead user's entry is left: %v", err)
	}
}
