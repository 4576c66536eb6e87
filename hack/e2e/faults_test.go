//go:build linux

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The fault-injection cases: each kills a part of limactl with SIGKILL at a chosen moment and checks
// that `limactl list` tells the truth, that nothing of the instance is left running, that data the
// guest synced survives, and that the next `limactl start` reaches READY. They ride on the boots
// of TestVM (vm_test.go) and TestImages (images_test.go).

// instanceProcs lists the live processes whose command line names the instance directory: its host
// agent, QEMU and virtiofsd.
func instanceProcs(t *testing.T, name string) []string {
	t.Helper()
	dir := instDir(name) + "/"
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var procs []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == os.Getpid() || !alive(pid) {
			continue
		}
		cmdline, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmdline, []byte(dir)) {
			continue
		}
		procs = append(procs, e.Name()+": "+strings.ReplaceAll(string(bytes.TrimRight(cmdline, "\x00")), "\x00", " "))
	}
	return procs
}

// requireNoProcs fails when a process of the instance outlives what killed it.
func requireNoProcs(t *testing.T, name string) {
	t.Helper()
	var left []string
	waitForOrNot(2*time.Minute, func() bool { left = instanceProcs(t, name); return len(left) == 0 })
	if len(left) > 0 {
		t.Fatalf("processes of instance %q are left:\n%s", name, strings.Join(left, "\n"))
	}
}

// waitForOrNot polls cond until it holds or bound passes, and says which.
func waitForOrNot(bound time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
	return true
}

// startInBackground runs `limactl start` and returns the running command and its output.
func startInBackground(t *testing.T, environ []string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(limactlBin, append([]string{"start", "--tty=false"}, args...)...)
	cmd.Env = environ
	out := &syncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, out
}

// syncBuffer is a bytes.Buffer a test may read while a process writes to it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// sigkill kills cmd's process with SIGKILL and reaps it.
func sigkill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// lastEvent is the host agent's latest status line in ha.stdout.log, decoded loosely.
func lastEvent(t *testing.T, name string) map[string]any {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(instDir(name), "ha.stdout.log"))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var ev struct {
		Status map[string]any `json:"status"`
	}
	if len(lines) == 0 || json.Unmarshal([]byte(lines[len(lines)-1]), &ev) != nil {
		return nil
	}
	return ev.Status
}

// testKillDuringPrepare kills `limactl start` and its host agent with SIGKILL as soon as the host
// agent exists: it is then making keys, ssh.config and cidata.iso, or has just launched QEMU. The
// instance must be Stopped with nothing left running, and the next start (testConcurrentStart)
// boots it.
func testKillDuringPrepare(t *testing.T) {
	_ = os.Remove(filepath.Join(instDir(vm), "cidata.iso")) // so that the kill shows whether it was written
	cmd, out := startInBackground(t, env(), vm)
	var ha int
	deadline := time.Now().Add(time.Minute)
	for ha = pidFile(vm, "ha.pid"); ha == 0; ha = pidFile(vm, "ha.pid") { // the host agent writes ha.pid first, then prepares
		if time.Now().After(deadline) {
			t.Fatalf("no host agent within a minute:\n%s", out)
		}
		time.Sleep(2 * time.Millisecond)
	}
	_ = syscall.Kill(ha, syscall.SIGKILL)
	sigkill(t, cmd)
	t.Logf("killed the host agent as it appeared; cidata.iso written: %v, QEMU started: %v",
		fileExists(filepath.Join(instDir(vm), "cidata.iso")), pidFile(vm, "qemu.pid") != 0)
	requireNoProcs(t, vm)
	if got := status(t, vm); got != "Stopped" {
		t.Fatalf("status after killing start and its host agent = %q, want Stopped", got)
	}
	// No half-written file may pass for a whole one: any temp file is a dot file beside its target.
	entries, _ := os.ReadDir(instDir(vm))
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") && !strings.HasPrefix(e.Name(), ".") && !strings.HasPrefix(e.Name(), "qemu-") {
			t.Errorf("a temp file %s is left in the instance directory", e.Name())
		}
	}
}

// testKillHostAgentKeepsData writes and syncs a file in the guest, kills the host agent with -9:
// QEMU must not outlive it (it gets SIGTERM from the kernel on Linux), nothing of the instance is
// left, and the instance is Stopped. testKillStartWhileWaiting boots it again and reads the file.
func testKillHostAgentKeepsData(t *testing.T) {
	must(t, time.Minute, "shell", vm, "sh", "-c", "echo synced > ~/synced.txt && sync")
	ha, qemu := pidFile(vm, "ha.pid"), pidFile(vm, "qemu.pid")
	if !alive(ha) || !alive(qemu) {
		t.Fatalf("want a running host agent and QEMU, got pids %d, %d", ha, qemu)
	}
	if err := syscall.Kill(ha, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "QEMU to end after its host agent was killed", 2*time.Minute, func() bool { return !alive(qemu) })
	requireNoProcs(t, vm)
	if got := status(t, vm); got != "Stopped" {
		t.Errorf("status after the host agent and QEMU died = %q, want Stopped", got)
	}
}

// testKillStartWhileWaiting kills `limactl start` with -9 while it waits for READY: the host agent
// goes on, and a second `limactl start` follows it to READY instead of calling the half-started
// instance ready. The file synced before the host agent was killed is there.
func testKillStartWhileWaiting(t *testing.T) {
	cmd, out := startInBackground(t, env(), vm)
	if !waitForOrNot(bootTimeout, func() bool { return strings.Contains(out.String(), "(ssh)") }) {
		t.Fatalf("start never reached the ssh step:\n%s", out)
	}
	sigkill(t, cmd)
	if got := status(t, vm); got != "Running" {
		t.Fatalf("status after killing start = %q, want Running (the host agent goes on)", got)
	}
	r := must(t, bootTimeout, "start", "--tty=false", vm)
	if !strings.Contains(r.stderr, "waiting for it to be ready") || !strings.Contains(r.stderr, "READY.") {
		t.Errorf("a start of a starting instance should follow it to READY:\n%s", r.stderr)
	}
	if ev := lastEvent(t, vm); ev["running"] != true {
		t.Errorf("the host agent's last event is not running: %v", ev)
	}
	r = must(t, time.Minute, "shell", vm, "cat", "synced.txt", "kept.txt")
	if r.stdout != "synced\nkept\n" {
		t.Errorf("files written before the kills hold %q", r.stdout)
	}
}

func TestStartTimeoutSaysWhy(t *testing.T) {
	requireVM(t)
	testStartTimeoutSaysWhy(t)
}

// testStartTimeoutSaysWhy starts an instance whose guest never runs (the silent-accelerator knob with
// a bound longer than --timeout): the start fails naming the step, the accelerator, the silent
// console and what to try, and leaves the instance Stopped with nothing running.
func testStartTimeoutSaysWhy(t *testing.T) {
	const name = "stuck"
	t.Cleanup(func() { _, _ = limactl(context.Background(), nil, "delete", "-f", name) })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	r, err := limactlWithEnv(ctx, append(env(), "LIMACTL_TEST_SILENT_ACCEL=10m"), nil,
		"start", "--tty=false", "--name="+name, "--timeout=20s", filepath.Join(imageDir, "test-image.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if r.code == 0 {
		t.Fatalf("a start whose guest never runs succeeded:\n%s", r)
	}
	msg := strings.ReplaceAll(r.stderr, `\"`, `"`) // logrus quotes the message
	for _, want := range []string{"did not become ready within --timeout=20s", `still at step "boot"`, "under ",
		"printed nothing on its serial console", "What to try:", "ha.stderr.log"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the timeout message lacks %q:\n%s", want, r.stderr)
		}
	}
	requireNoProcs(t, name)
	if got := status(t, name); got != "Stopped" {
		t.Errorf("status after the failed start = %q, want Stopped", got)
	}
}

// rawDisk is TestVM's raw additional disk.
const rawDisk = "rawdisk"

// hostDiskSecret is what the host file a hostile qcow2 header points at holds.
const hostDiskSecret = "host file behind a backing-file header"

// testHostileRawDisk: guest root writes a qcow2 header whose backing file is a host file over the
// raw additional disk (CVE-2023-32684's shape). testRawDiskStaysRaw checks, after the next boot, that
// QEMU still opens the disk as raw: the guest sees its own header bytes, never the host file.
func testHostileRawDisk(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret.raw")
	if err := os.WriteFile(secret, []byte(strings.Repeat(hostDiskSecret+"\n", 1000)), 0o644); err != nil {
		t.Fatal(err)
	}
	hdr := filepath.Join(dir, "hdr.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-b", secret, "-F", "raw", hdr, "16M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	// Keep the secret where the header points for the rest of the suite (t.TempDir would go first).
	keep := filepath.Join(limaHome, "_e2e-secret.raw")
	if err := os.Rename(secret, keep); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("qemu-img", "rebase", "-u", "-f", "qcow2", "-b", keep, "-F", "raw", hdr).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img rebase: %v\n%s", err, out)
	}
	must(t, time.Minute, "copy", hdr, vm+":/tmp/hdr.qcow2")
	must(t, time.Minute, "shell", vm, "sudo", "dd", "if=/tmp/hdr.qcow2", "of=/dev/disk/by-id/virtio-lima-"+rawDisk, "conv=notrunc,fsync", "status=none")
}

func testRawDiskStaysRaw(t *testing.T) {
	r := must(t, time.Minute, "shell", vm, "sh", "-c",
		"sudo head -c 4 /dev/disk/by-id/virtio-lima-"+rawDisk+" | od -An -c; sudo grep -c '"+hostDiskSecret+"' /dev/disk/by-id/virtio-lima-"+rawDisk+" || true")
	fields := strings.Fields(r.stdout)
	if len(fields) < 2 || fields[0] != "Q" || fields[1] != "F" {
		t.Errorf("the raw disk does not start with the header the guest wrote (QEMU did not open it as raw?): %q", r.stdout)
	}
	if n := fields[len(fields)-1]; n != "0" {
		t.Errorf("the guest sees the host file behind its qcow2 header (%s matches): QEMU probed the raw disk's format", n)
	}
}
