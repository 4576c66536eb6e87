package hostagent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/hostagent/events"
)

// TestFollowCloudInit follows a growing cloud-init log on a fake SSH guest (commands run on the
// host, the log lives under markerRoot): every line becomes one cloudInitProgress event, in order,
// and the end of the follow is one Completed event.
func TestFollowCloudInit(t *testing.T) {
	a, _ := fakeGuestAgent(t, t.TempDir(), nil)
	log := filepath.Join(a.markerRoot, cloudInitLog)
	if err := os.MkdirAll(filepath.Dir(log), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(log, []byte("one\ntwo\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ew := events.NewWriter(&out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.followCloudInit(ctx, ew) }()

	lines := func() ([]string, bool) {
		var got []string
		completed := false
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if l == "" {
				continue
			}
			evs, err := parseEvents(l)
			if err != nil {
				t.Fatal(err)
			}
			if p := evs[0].Status.CloudInitProgress; p != nil {
				if p.Completed {
					completed = true
				} else {
					got = append(got, p.LogLine)
				}
			}
		}
		return got, completed
	}
	waitLines := func(n int) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
			if got, _ := lines(); len(got) >= n {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting for %d lines; events:\n%s", n, out.String())
			}
		}
	}
	waitLines(2)
	f, err := os.OpenFile(log, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("three\nfour\n")
	f.Close()
	waitLines(4)
	cancel()
	<-done
	got, completed := lines()
	if diff := cmp.Diff([]string{"one", "two", "three", "four"}, got); diff != "" {
		t.Errorf("log lines (-want +got):\n%s", diff)
	}
	if !completed {
		t.Error("no Completed event at the end")
	}
}

// TestFollowCloudInitBounded: a guest whose cloud-init output holds escape sequences, a line of
// 2 MiB and more lines than are shown. Lines are made printable and cut to progressLineMax, and
// after progressLines events one says the rest is not shown. On the previous code the escape
// sequences went into the events (and on to the terminal), the long line stopped the follow (it
// was retried every second and failed again), and every line was an event.
func TestFollowCloudInitBounded(t *testing.T) {
	a, _ := fakeGuestAgent(t, t.TempDir(), nil)
	log := filepath.Join(a.markerRoot, cloudInitLog)
	if err := os.MkdirAll(filepath.Dir(log), 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("\x1b[31mred\x1b[0m\r\n" + strings.Repeat("z", 2<<20) + "\n")
	for i := range progressLines + 5000 {
		fmt.Fprintf(&b, "l%d\n", i)
	}
	if err := os.WriteFile(log, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	ew := events.NewWriter(&out)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); a.followCloudInit(ctx, ew) }()
	var got []string
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(100 * time.Millisecond) {
		got = nil
		for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
			if evs, err := parseEvents(l); err == nil && evs[0].Status.CloudInitProgress != nil {
				got = append(got, evs[0].Status.CloudInitProgress.LogLine)
			}
		}
		if len(got) >= progressLines || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(300 * time.Millisecond)
	cancel()
	<-done
	if len(got) != progressLines {
		t.Fatalf("%d cloudInitProgress events, want %d", len(got), progressLines)
	}
	if got[0] != "[31mred[0m" {
		t.Errorf("first line = %q, want the escape sequences dropped", got[0])
	}
	if len(got[1]) > progressLineMax || !strings.HasSuffix(got[1], "...") {
		t.Errorf("the 2 MiB line became %d bytes, want it cut to %d", len(got[1]), progressLineMax)
	}
	if last := got[len(got)-1]; !strings.Contains(last, "not shown") {
		t.Errorf("last line = %q, want a notice that the rest is not shown", last)
	}
}
