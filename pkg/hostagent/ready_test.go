package hostagent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// syncBuffer is a bytes.Buffer safe for the events writer and the test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestWaitReady runs the readiness steps against a fake SSH guest (commands run on the host, so
// the /run markers live under a temporary markerRoot). The markers appear only after the wait has
// begun, announced on the console as the guest's boot scripts do.
func TestWaitReady(t *testing.T) {
	dir := t.TempDir()
	a, _ := fakeGuestAgent(t, dir, nil)
	script := "#!/bin/sh\ntest -e " + filepath.Join(dir, "probe-ok") + "\n"
	a.inst.Config.Probes = []limayaml.Probe{{Description: "probe file exists", Script: &script}}
	serial := filepath.Join(dir, "serial.log")
	a.iid, a.console = "iid-test", NewConsole(serial)
	if err := os.MkdirAll(filepath.Join(a.markerRoot, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go a.console.Follow(ctx)

	var out syncBuffer
	ew := events.NewWriter(&out)
	done := make(chan struct{})
	go func() { defer close(done); a.waitReady(ctx, ew) }()

	write := func(path, content string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(a.markerRoot, "run/lima-boot-failed"), "boot.Linux/10-mounts.sh 1\n")
	write(filepath.Join(a.markerRoot, "run/lima-ssh-ready"), "iid-test\n")
	write(filepath.Join(a.markerRoot, "run/lima-boot-done"), "iid-test\n")
	write(filepath.Join(dir, "probe-ok"), "")
	write(serial, "LIMA| ssh-ready iid-test\nLIMA| boot-done iid-test\n")
	<-done
	a.closeSSH()

	var steps []string
	var last events.Status
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		evs, err := parseEvents(line)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs {
			last = ev.Status
			if p := ev.Status.Progress; p != nil && !p.Done {
				steps = append(steps, p.Step)
			}
		}
	}
	if diff := cmp.Diff([]string{"ssh", "user-session", "boot-scripts", "probe-1"}, steps); diff != "" {
		t.Errorf("steps (-want +got):\n%s", diff)
	}
	if !last.Running || last.Degraded {
		t.Errorf("last status = %+v, want running and not degraded", last)
	}
	if len(last.Errors) != 1 || !strings.Contains(last.Errors[0], "boot.Linux/10-mounts.sh 1") {
		t.Errorf("errors = %q, want the failed boot script", last.Errors)
	}
}

// TestWaitReadyMuxSharesLogin: the SSH mux takes over the connection on which the user-session
// step saw the ssh-ready marker, so start-up logs in to the guest once, not twice.
func TestWaitReadyMuxSharesLogin(t *testing.T) {
	dir, a, guest := muxTestAgent(t)
	a.iid, a.console = "iid-test", NewConsole(filepath.Join(dir, "serial.log"))
	if err := os.MkdirAll(filepath.Join(a.markerRoot, "run"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"lima-ssh-ready", "lima-boot-done"} {
		if err := os.WriteFile(filepath.Join(a.markerRoot, "run", m), []byte("iid-test\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	userReady, up := make(chan struct{}), make(chan struct{})
	a.userSessionReady = sync.OnceFunc(func() { close(userReady) })
	a.muxUp = up
	muxDone := a.startSSHMux(ctx, userReady, up)
	t.Cleanup(func() { cancel(); <-muxDone })
	a.waitReady(ctx, events.NewWriter(io.Discard))
	// The markers were there from the start (a restart whose boot scripts finished before sshd
	// answered): one command reads them all, one more reads the failure list.
	if n := guest.Sessions(); n != 2 {
		t.Errorf("start-up opened %d SSH sessions, want 2", n)
	}

	c, err := sshutil.Dial(ctx, sshutil.DialOptions{
		Port: guest.Port, User: "tester", Signer: guest.ClientSigner,
		KnownHostsFile: sshutil.KnownHostsFile(dir), HostKeyAlias: sshutil.HostKeyAlias("vm"),
		UnixSocket: filepath.Join(dir, filenames.SSHMuxSock),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, err := sshutil.RunShell(ctx, c, sshutil.ShellOptions{Args: []string{"true"}}); err != nil || code != 0 {
		t.Fatalf("true through the mux: code %d, %v", code, err)
	}
	if n := guest.Logins(); n != 1 {
		t.Errorf("the guest saw %d logins, want 1 (the mux shares the host agent's)", n)
	}
	// A readiness command that fails on that connection (a timeout, a session the guest refuses)
	// makes the agent drop it, but a user's session through the mux lives on.
	type result struct {
		code int
		err  error
	}
	res := make(chan result, 1)
	before := guest.Sessions()
	go func() {
		code, err := sshutil.RunShell(ctx, c, sshutil.ShellOptions{Args: []string{"sleep", "1"}})
		res <- result{code, err}
	}()
	for i := 0; guest.Sessions() == before; i++ {
		if i == 100 {
			t.Fatal("the session through the mux did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	a.closeSSH()
	if r := <-res; r.err != nil || r.code != 0 {
		t.Errorf("a session through the mux when the agent dropped its connection: code %d, %v", r.code, r.err)
	}
	// Once that connection drops, the mux logs in on its own.
	guest.DropConnections()
	for i := 0; ; i++ {
		code, err := sshutil.RunShell(ctx, c, sshutil.ShellOptions{Args: []string{"true"}})
		if err == nil && code == 0 {
			break
		}
		if i == 100 {
			t.Fatalf("the mux did not log in again after the drop: code %d, %v", code, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if n := guest.Logins(); n != 2 {
		t.Errorf("after the drop the guest saw %d logins, want 2", n)
	}
}

func parseEvents(line string) ([]events.Event, error) {
	var ev events.Event
	if err := json.Unmarshal([]byte(line), &ev); err != nil {
		return nil, err
	}
	return []events.Event{ev}, nil
}

// TestBootFailures: the guest's boot-failure marker becomes warnings on the user's terminal: escape
// sequences are dropped, each line is cut, and only the first maxBootFailures are kept. On the
// previous code every line went out whole, escape sequences included.
func TestBootFailures(t *testing.T) {
	marker := "\x1b]0;owned\x07provision 1 exited 2\r\n\n" + strings.Repeat("z", 2000) + "\n"
	for i := range 20 {
		marker += "script " + strings.Repeat("!", i) + "\n"
	}
	got := bootFailures(marker)
	if len(got) != maxBootFailures+1 || !strings.Contains(got[maxBootFailures], "12 more boot script failures") {
		t.Fatalf("bootFailures = %d warnings (%q), want %d and a count of the rest", len(got), got, maxBootFailures+1)
	}
	if want := "boot script failed: ]0;ownedprovision 1 exited 2 (see /var/log/cloud-init-output.log in the guest)"; got[0] != want {
		t.Errorf("first warning = %q, want %q", got[0], want)
	}
	for _, w := range got {
		if len(w) > maxBootFailureLine+100 || strings.ContainsAny(w, "\x1b\x07\r") {
			t.Errorf("warning %q is too long or carries control characters", w)
		}
	}
}

// TestContainerdStep: the containerd start-up step is done when the guest's ready marker holds this
// boot's id, and ends the wait at once on the failure marker, whose text (the guest's) is made
// printable and cut however large and hostile it is.
func TestContainerdStep(t *testing.T) {
	dir := t.TempDir()
	a, _ := fakeGuestAgent(t, dir, nil)
	a.iid = "iid-test"
	run := filepath.Join(a.markerRoot, "run")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	defer a.closeSSH()
	step := a.containerdStep(nil)
	ctx := context.Background()
	if ok, err := step.Check(ctx); ok || err != nil {
		t.Fatalf("no marker yet: %v, %v", ok, err)
	}
	if err := os.WriteFile(filepath.Join(run, "lima-containerd-ready"), []byte("iid-old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, _ := step.Check(ctx); ok {
		t.Fatal("a marker from another boot counts")
	}
	if err := os.WriteFile(filepath.Join(run, "lima-containerd-ready"), []byte("iid-test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if ok, err := step.Check(ctx); !ok || err != nil {
		t.Fatalf("ready: %v, %v", ok, err)
	}
	hostile := "\x1b]0;owned\x07extracting the archive failed (archive nerdctl-full.tgz)" + strings.Repeat("x", 100000) + "\n"
	if err := os.WriteFile(filepath.Join(run, "lima-containerd-failed"), []byte(hostile), 0o644); err != nil {
		t.Fatal(err)
	}
	ok, err := step.Check(ctx)
	if ok || !errors.Is(err, ErrFatal) || !strings.Contains(err.Error(), "extracting the archive failed (archive nerdctl-full.tgz)") {
		t.Fatalf("failed: %v, %v", ok, err)
	}
	if msg := err.Error(); len(msg) > maxBootFailureLine+100 || strings.ContainsAny(msg, "\x1b\x07") {
		t.Errorf("the failure is %d bytes or carries control characters: %q", len(msg), msg[:min(len(msg), 200)])
	}
}
