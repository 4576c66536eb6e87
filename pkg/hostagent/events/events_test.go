package events

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestWriterCarriesWholeStatus(t *testing.T) {
	var sb strings.Builder
	w := NewWriter(&sb)
	w.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }
	_ = w.Update(func(s *Status) { s.SSHLocalPort = 60022 })
	_ = w.Update(func(s *Status) {
		s.PortForward = &PortForwardEvent{Type: PortForwardForwarding, Protocol: "tcp", GuestAddr: "127.0.0.1:80", HostAddr: "127.0.0.1:8080"}
	})
	_ = w.Update(func(s *Status) { s.Running = true })
	want := `{"time":"2026-01-02T03:04:05Z","status":{"sshLocalPort":60022}}
{"time":"2026-01-02T03:04:05Z","status":{"sshLocalPort":60022,"portForward":{"type":"forwarding","protocol":"tcp","guestAddr":"127.0.0.1:80","hostAddr":"127.0.0.1:8080"}}}
{"time":"2026-01-02T03:04:05Z","status":{"running":true,"sshLocalPort":60022}}
`
	if diff := cmp.Diff(want, sb.String()); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
}

func TestWatchFollowsAppendsAndSkipsOldEvents(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha.stdout.log")
	begin := time.Now()
	old, _ := json.Marshal(Event{Time: begin.Add(-time.Hour), Status: Status{Exiting: true}})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	got := make(chan Status, 10)
	done := make(chan error, 1)
	go func() {
		done <- Watch(ctx, path, begin, func(ev Event) error {
			got <- ev.Status
			if ev.Status.Running {
				return ErrStop
			}
			return nil
		})
	}()

	// The file appears after the watch started; an old event, garbage and a split line follow.
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, _ = f.Write(append(old, '\n'))
	_, _ = f.WriteString("not json\n")
	w := NewWriter(f)
	_ = w.Update(func(s *Status) { s.SSHLocalPort = 2222 })
	line, _ := json.Marshal(Event{Time: time.Now(), Status: Status{Running: true, SSHLocalPort: 2222}})
	_, _ = f.Write(line[:10])
	_ = f.Sync()
	time.Sleep(2 * pollInterval) // let the reader see half a line
	_, _ = f.Write(append(line[10:], '\n'))

	if err := <-done; err != nil {
		t.Fatalf("Watch: %v", err)
	}
	close(got)
	var statuses []Status
	for s := range got {
		statuses = append(statuses, s)
	}
	want := []Status{{SSHLocalPort: 2222}, {Running: true, SSHLocalPort: 2222}}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
}

func TestWatchEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := Watch(ctx, filepath.Join(t.TempDir(), "none"), time.Time{}, func(Event) error { return nil })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestWatchReturnsHandlerError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log")
	f, _ := os.Create(path)
	_ = NewWriter(f).Update(func(s *Status) { s.Degraded = true; s.Errors = []string{"boom"} })
	f.Close()
	boom := errors.New("degraded")
	err := Watch(context.Background(), path, time.Time{}, func(ev Event) error {
		if ev.Status.Degraded {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	evs, err := ReadAll(path)
	if err != nil || len(evs) != 1 || evs[0].Status.Errors[0] != "boom" {
		t.Fatalf("ReadAll = %v, %v", evs, err)
	}
}
