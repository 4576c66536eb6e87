package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/iostreams"
)

// lockedBuffer is a bytes.Buffer the watch goroutine writes while the test reads.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// fakeWatchInstance makes $LIMA_HOME/NAME with a lima.yaml and returns the path of its ha.stdout.log.
func fakeWatchInstance(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(os.Getenv("LIMA_HOME"), name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "lima.yaml"), []byte("vmType: qemu\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, "ha.stdout.log")
}

// appendEvents writes events to the log as a host agent does, each with the whole status.
func appendEvents(t *testing.T, path string, trunc bool, updates ...func(*events.Status)) {
	t.Helper()
	flag := os.O_CREATE | os.O_WRONLY | os.O_APPEND
	if trunc {
		flag |= os.O_TRUNC
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := events.NewWriter(f)
	for _, u := range updates {
		if err := w.Update(u); err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, buf *lockedBuffer, want ...string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		s := buf.String()
		missing := false
		for _, w := range want {
			if !strings.Contains(s, w) {
				missing = true
			}
		}
		if !missing {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("output lacks %q:\n%s", want, buf.String())
}

// eventBodies strips the time and instance from each `TIME INSTANCE | what` line.
func eventBodies(out string) []string {
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if _, rest, ok := strings.Cut(line, " | "); ok {
			name := strings.Fields(line)[2]
			got = append(got, name+" | "+rest)
		}
	}
	return got
}

func TestWatchFollowsAppendsRestartsAndNewInstances(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	log := fakeWatchInstance(t, "vm")
	appendEvents(t, log, false, func(s *events.Status) { s.Errors = []string{"from an earlier run"} })

	t.Cleanup(func() { logrus.SetLevel(logrus.InfoLevel) }) // runWatch quiets logrus
	ios, _, _, _ := iostreams.Test()
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	ios.Out, ios.ErrOut = out, errOut
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runWatch(ctx, &WatchOptions{IO: ios, Rescan: 20 * time.Millisecond}) }()
	waitFor(t, errOut, "Watching for events...")

	appendEvents(t, log, false,
		func(s *events.Status) { s.SSHLocalPort = 60022 },
		func(s *events.Status) {
			s.Progress = &events.Progress{Step: "ssh", Description: "Waiting for the guest's SSH server"}
		},
		func(s *events.Status) {
			s.PortForward = &events.PortForwardEvent{Type: events.PortForwardForwarding, Protocol: "tcp", GuestAddr: "127.0.0.1:80", HostAddr: "127.0.0.1:8080"}
		},
		func(s *events.Status) { s.Running = true },
	)
	waitFor(t, out, "vm | running")

	// `limactl start` truncates the log for the next run of the host agent.
	appendEvents(t, log, false, func(s *events.Status) { s.Exiting = true })
	waitFor(t, out, "vm | exiting")
	appendEvents(t, log, true, func(s *events.Status) { s.SSHLocalPort = 60022 }, func(s *events.Status) {
		s.Running, s.Degraded, s.Errors = true, true, []string{"guest agent does not answer"}
	})
	waitFor(t, out, "vm | running (degraded)")

	log2 := fakeWatchInstance(t, "vm2")
	waitFor(t, errOut, "New instance detected: vm2")
	appendEvents(t, log2, false, func(s *events.Status) { s.Exiting = true; s.Errors = []string{"boom\x1b[2J"} })
	waitFor(t, out, "vm2 | exiting")

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("runWatch after Ctrl-C: %v, want nil (exit status 0)", err)
	}
	want := []string{
		"vm | ssh available on port 60022",
		"vm | waiting: Waiting for the guest's SSH server (ssh)",
		"vm | forwarding tcp 127.0.0.1:80 to 127.0.0.1:8080",
		"vm | running",
		"vm | exiting",
		"vm | ssh available on port 60022",
		"vm | running (degraded)",
		"vm | error: guest agent does not answer",
		"vm2 | exiting",
		"vm2 | error: boom[2J",
	}
	if diff := cmp.Diff(want, eventBodies(out.String())); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestWatchJSONAndHistory(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	log := fakeWatchInstance(t, "vm")
	appendEvents(t, log, false, func(s *events.Status) { s.SSHLocalPort = 2222 })

	t.Cleanup(func() { logrus.SetLevel(logrus.InfoLevel) }) // runWatch quiets logrus
	ios, _, _, _ := iostreams.Test()
	out, errOut := &lockedBuffer{}, &lockedBuffer{}
	ios.Out, ios.ErrOut = out, errOut
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runWatch(ctx, &WatchOptions{IO: ios, Names: []string{"vm", "nosuch"}, JSON: true, History: true, Rescan: time.Hour})
	}()
	waitFor(t, out, `"sshLocalPort":2222`)
	appendEvents(t, log, false, func(s *events.Status) { s.Running = true; s.SSHLocalPort = 2222 })
	waitFor(t, out, `"running":true`)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines, got:\n%s", out)
	}
	var ev watchEvent
	if err := json.Unmarshal([]byte(lines[1]), &ev); err != nil {
		t.Fatal(err)
	}
	if ev.Instance != "vm" || !ev.Event.Status.Running || ev.Event.Status.SSHLocalPort != 2222 || ev.Event.Time.IsZero() {
		t.Errorf("second line = %+v", ev)
	}
	var raw map[string]map[string]any
	_ = json.Unmarshal([]byte(lines[1]), &raw)
	if _, ok := raw["event"]["status"]; !ok {
		t.Errorf("want Lima's {instance, event: {time, status}} shape, got %s", lines[1])
	}
}
