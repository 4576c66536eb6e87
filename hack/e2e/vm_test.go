//go:build linux

package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// bootTimeout bounds one start: generous, because a TCG boot on a busy 2-core host varies a lot.
const bootTimeout = 8 * time.Minute

const vm = "vm"

// TestVM boots the test image once and runs the cases that need a running guest against it in order;
// later cases stop, kill, break and restart the same instance. Four boots in all.
func TestVM(t *testing.T) {
	requireVM(t)
	archives = archiveServer(t) // containerd_test.go
	defer archives.Close()
	steps := []struct {
		name string
		fn   func(t *testing.T)
	}{
		{"Start", testStart},
		{"Provision", testProvision},
		{"Containerd", testContainerd},     // containerd_test.go
		{"HostResolver", testHostResolver}, // hostresolver_test.go
		{"ShellNoTTY", testShellNoTTY},
		{"ShellLoginEnv", testShellLoginEnv}, // shellenv_test.go
		{"ShellTTY", testShellTTY},
		{"ExitCode", testExitCode},
		{"Stdin", testStdin},
		{"Quoting", testQuoting},
		{"Copy", testCopy},
		{"PortForward", testPortForward},
		{"TunnelForward", testTunnelForward},   // tunnelfwd_test.go
		{"Screenshot", testScreenshot},         // screenshot_test.go
		{"Tunnel", testTunnel},                 // tunnel_test.go
		{"GuestInstall", testGuestInstall},     // guestinstall_test.go
		{"HostileRawDisk", testHostileRawDisk}, // faults_test.go
		{"StopKeepsData", testStopKeepsData},
		{"KillDuringPrepare", testKillDuringPrepare}, // faults_test.go
		{"ConcurrentStart", testConcurrentStart},
		{"ContainerdInstalledOnce", testContainerdInstalledOnce},
		{"RawDiskStaysRaw", testRawDiskStaysRaw},
		{"KillHostAgentKeepsData", testKillHostAgentKeepsData},
		{"KillStartWhileWaiting", testKillStartWhileWaiting},
		{"KillQEMUIsBroken", testKillQEMU},
		{"Delete", testDelete},
	}
	for _, s := range steps {
		if !t.Run(s.name, s.fn) {
			t.Fatalf("%s failed; the later cases depend on it", s.name)
		}
	}
}

func testStart(t *testing.T) {
	begin := time.Now()
	// A raw additional disk the guest will try to turn into a qcow2 with a host backing file.
	must(t, time.Minute, "disk", "create", rawDisk, "--size", "16MiB", "--format", "raw")
	t.Cleanup(func() { _, _ = limactl(context.Background(), nil, "disk", "delete", "-f", rawDisk) })
	args := []string{"start", "--tty=false", "--progress", "--name=" + vm,
		"--set", `.portForwards += [{"guestPort": ` + ignoredGuestPort + `, "ignore": true}]`,
		"--set", `.additionalDisks += [{"name": "` + rawDisk + `", "format": false}]`}
	args = append(args, provisionSets()...) // provision_test.go
	args = append(args, containerdSets(t, archives)...)
	args = append(args, hostResolverSets()...)             // hostresolver_test.go
	args = append(args, "--set", `.video.display = "vnc"`) // screenshot_test.go
	// The first launch is silent, as under a KVM that hangs a Linux guest: the host agent restarts it
	// under TCG after 2 s and records the verdict in the probe cache, here a cache of this start's own
	// so that the rest of the suite keeps the host's real accelerator.
	probeCache := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	r, err := limactlWithEnv(ctx, append(env(), "LIMACTL_TEST_SILENT_ACCEL=2s", "LIMA_CACHE_HOME="+probeCache), nil,
		append(args, filepath.Join(imageDir, "test-image.yaml"))...)
	if err != nil || r.code != 0 {
		t.Fatalf("limactl start: %v\n%s", err, r)
	}
	startOutput = r.stderr
	t.Logf("boot to READY (with a 2 s silent first launch): %s", time.Since(begin).Round(time.Second))
	if n := strings.Count(r.stderr, "showed no sign of life"); n != 1 || !strings.Contains(r.stderr, "LIMA_QEMU_ACCEL=") {
		t.Errorf("want one warning about the silent accelerator naming LIMA_QEMU_ACCEL (%d):\n%s", n, r.stderr)
	}
	if b, err := os.ReadFile(filepath.Join(probeCache, "qemu-kvm-probe", "results.json")); err != nil || !strings.Contains(string(b), "no sign of life") {
		t.Errorf("the verdict is not in the probe cache: %v\n%s", err, b)
	}
	if ev := lastEvent(t, vm); ev["accelerator"] != "tcg" {
		t.Errorf("the host agent's last event says accelerator %v, want tcg", ev["accelerator"])
	}
	for _, want := range []string{"SSH Local Port:", "Waiting for the guest's SSH server (ssh)", "READY. Run `limactl shell vm` to open the shell."} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("start output lacks %q:\n%s", want, r.stderr)
		}
	}
	if got := status(t, vm); got != "Running" {
		t.Fatalf("status after start = %q, want Running", got)
	}
	// A second start of a running instance is a no-op.
	r = must(t, time.Minute, "start", vm)
	if !strings.Contains(r.stderr, "already running") {
		t.Errorf("start of a running instance: want \"already running\":\n%s", r)
	}
}

func testShellNoTTY(t *testing.T) {
	r := must(t, time.Minute, "shell", vm, "uname", "-s")
	if got := strings.TrimSpace(r.stdout); got != "Linux" {
		t.Errorf("uname -s = %q, want Linux", got)
	}
	r = must(t, time.Minute, "shell", vm, "sh", "-c", "test -t 0 && echo tty || echo notty")
	if got := strings.TrimSpace(r.stdout); got != "notty" {
		t.Errorf("without a terminal the guest command got %q, want notty", got)
	}
}

func testShellTTY(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// script(1) gives limactl a pseudo-terminal.
	cmd := exec.CommandContext(ctx, "script", "-qec", limactlBin+" shell "+vm+" sh -c 'test -t 0 && tty'", "/dev/null")
	cmd.Env = env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("shell under script: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "/dev/pts/") {
		t.Errorf("with a terminal the guest command should get a pty; output: %q", out)
	}
}

func testExitCode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := limactl(ctx, nil, "shell", vm, "sh", "-c", "exit 7")
	if err != nil || r.code != 7 {
		t.Fatalf("exit code = %d (%v), want 7\n%s", r.code, err, r)
	}
}

func testStdin(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in := "line one\nline two with 'quotes' and $dollar\n"
	r, err := limactl(ctx, strings.NewReader(in), "shell", vm, "cat")
	if err != nil || r.code != 0 {
		t.Fatalf("shell cat: %v\n%s", err, r)
	}
	if r.stdout != in {
		t.Errorf("stdin through the guest's cat = %q, want %q", r.stdout, in)
	}
}

func testQuoting(t *testing.T) {
	args := []string{"a b", "it's", `say "hi"`, "$HOME", "back\\slash", "*", ""}
	r := must(t, time.Minute, append([]string{"shell", vm, "printf", "[%s]\\n"}, args...)...)
	var want strings.Builder
	for _, a := range args {
		want.WriteString("[" + a + "]\n")
	}
	if r.stdout != want.String() {
		t.Errorf("args through the guest's printf:\ngot  %q\nwant %q", r.stdout, want.String())
	}
}

func testCopy(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "to-guest.txt")
	if err := os.WriteFile(src, []byte("from the host\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, time.Minute, "copy", src, vm+":/tmp/to-guest.txt")
	r := must(t, time.Minute, "shell", vm, "cat", "/tmp/to-guest.txt")
	if r.stdout != "from the host\n" {
		t.Errorf("file copied to the guest holds %q", r.stdout)
	}
	must(t, time.Minute, "shell", vm, "sh", "-c", "echo from the guest > /tmp/to-host.txt")
	dst := filepath.Join(dir, "to-host.txt")
	must(t, time.Minute, "copy", vm+":/tmp/to-host.txt", dst)
	if b, err := os.ReadFile(dst); err != nil || string(b) != "from the guest\n" {
		t.Errorf("file copied to the host: %q, %v", b, err)
	}
}

func testStopKeepsData(t *testing.T) {
	must(t, time.Minute, "shell", vm, "sh", "-c", "echo kept > ~/kept.txt && sync")
	must(t, 4*time.Minute, "stop", vm)
	if got := status(t, vm); got != "Stopped" {
		t.Fatalf("status after stop = %q, want Stopped", got)
	}
	for _, f := range []string{"ha.pid", "ha.sock", "qemu.pid"} {
		if fileExists(filepath.Join(instDir(vm), f)) {
			t.Errorf("%s is left after stop", f)
		}
	}
}

// testConcurrentStart boots the stopped instance with two concurrent starts: exactly one boots it,
// the other fails at once saying who is starting it. The file written before the stop is still there.
func testConcurrentStart(t *testing.T) {
	// `limactl watch --json` follows the instance through this start (issue: watch shows the events
	// of a start): it must see a run begin and reach running.
	wctx, wcancel := context.WithCancel(context.Background())
	defer wcancel()
	watch := exec.CommandContext(wctx, limactlBin, "watch", "--json", vm)
	watch.Env = env()
	var watchOut syncBuffer
	watch.Stdout = &watchOut
	if err := watch.Start(); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]result, 2)
	errs := make([]error, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
			defer cancel()
			results[i], errs[i] = limactl(ctx, nil, "start", vm)
		}()
	}
	wg.Wait()
	ok, failed := 0, -1
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if r.code == 0 {
			ok++
		} else {
			failed = i
		}
	}
	if ok != 1 || failed < 0 {
		t.Fatalf("want exactly one of two concurrent starts to succeed:\n1: %s\n2: %s", results[0], results[1])
	}
	if !strings.Contains(results[failed].stderr, "is being started by another process") {
		t.Errorf("the losing start should say the instance is being started by another process:\n%s", results[failed])
	}
	r := must(t, time.Minute, "shell", vm, "cat", "kept.txt")
	if r.stdout != "kept\n" {
		t.Errorf("the file written before stop holds %q after start", r.stdout)
	}
	checkWatchedStart(t, watch, wcancel, &watchOut)
}

// checkWatchedStart stops the `watch --json` that ran during a start and checks what it printed:
// JSON lines for the instance, among them the SSH port, a start-up step and running.
func checkWatchedStart(t *testing.T, watch *exec.Cmd, cancel context.CancelFunc, out *syncBuffer) {
	t.Helper()
	// The host agent's running event is written before `start` returns; give the follower a moment.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && !strings.Contains(out.String(), `"running":true`) {
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	_ = watch.Wait()
	var sawPort, sawStep, sawRunning bool
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var ev struct {
			Instance string `json:"instance"`
			Event    struct {
				Status struct {
					Running      bool            `json:"running"`
					SSHLocalPort int             `json:"sshLocalPort"`
					Progress     json.RawMessage `json:"progress"`
				} `json:"status"`
			} `json:"event"`
		}
		if err := json.Unmarshal([]byte(line), &ev); err != nil {
			t.Errorf("watch --json printed a line that is not JSON: %q (%v)", line, err)
			continue
		}
		if ev.Instance != vm {
			t.Errorf("watch --json: instance %q, want %q", ev.Instance, vm)
		}
		sawPort = sawPort || ev.Event.Status.SSHLocalPort != 0
		sawStep = sawStep || len(ev.Event.Status.Progress) > 0
		sawRunning = sawRunning || ev.Event.Status.Running
	}
	if !sawPort || !sawStep || !sawRunning {
		t.Errorf("watch --json during a start: ssh port %v, a start-up step %v, running %v; want all:\n%s",
			sawPort, sawStep, sawRunning, out.String())
	}
}

// testKillQEMU freezes the host agent (so it cannot tidy up), kills QEMU: the instance is Broken;
// `stop -f` makes it Stopped; then it starts again (the second boot).
func testKillQEMU(t *testing.T) {
	ha, qemu := pidFile(vm, "ha.pid"), pidFile(vm, "qemu.pid")
	if !alive(ha) || !alive(qemu) {
		t.Fatalf("want a running host agent and QEMU, got pids %d, %d", ha, qemu)
	}
	if err := syscall.Kill(ha, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = syscall.Kill(ha, syscall.SIGCONT) })
	if err := syscall.Kill(qemu, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "QEMU to die", time.Minute, func() bool { return !alive(qemu) })
	if got := status(t, vm); got != "Broken" {
		t.Fatalf("status with the host agent alive and QEMU dead = %q, want Broken", got)
	}
	must(t, time.Minute, "stop", "-f", vm)
	if got := status(t, vm); got != "Stopped" {
		t.Fatalf("status after stop -f = %q, want Stopped", got)
	}
	if alive(ha) {
		t.Errorf("host agent pid %d survived stop -f", ha)
	}
	must(t, bootTimeout, "start", vm)
	r := must(t, time.Minute, "shell", vm, "cat", "kept.txt")
	if r.stdout != "kept\n" {
		t.Errorf("kept.txt holds %q", r.stdout)
	}
}

func testDelete(t *testing.T) {
	ha, qemu := pidFile(vm, "ha.pid"), pidFile(vm, "qemu.pid")
	must(t, time.Minute, "delete", "-f", vm)
	if fileExists(instDir(vm)) {
		t.Errorf("%s is left after delete", instDir(vm))
	}
	for _, pid := range []int{ha, qemu} {
		if alive(pid) {
			t.Errorf("pid %d is alive after delete", pid)
		}
	}
	r := must(t, time.Minute, "list", "--format", "{{.Name}}")
	if strings.Contains(r.stdout, vm) {
		t.Errorf("list still shows %q:\n%s", vm, r.stdout)
	}
}
