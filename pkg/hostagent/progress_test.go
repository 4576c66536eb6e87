package hostagent

import (
	"context"
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
