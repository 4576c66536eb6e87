package events

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Follow goes on into a truncated file (a restart of the host agent) and a replaced one (an
// instance deleted and created again), and drops an overlong line without losing the next.
func TestFollowTruncatedAndReplaced(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha.stdout.log")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines := make(chan string, 16)
	done := make(chan error, 1)
	go func() {
		done <- Follow(ctx, path, 5*time.Millisecond, func(b []byte) error {
			lines <- string(b)
			if string(b) == "end" {
				return ErrStop
			}
			return nil
		})
	}()
	next := func(want string) {
		t.Helper()
		select {
		case got := <-lines:
			if got != want {
				t.Fatalf("got line %q, want %q", got, want)
			}
		case <-ctx.Done():
			t.Fatalf("no line %q", want)
		}
	}
	write := func(flag int, s string) {
		t.Helper()
		f, err := os.OpenFile(path, flag|os.O_WRONLY|os.O_CREATE, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write(os.O_APPEND, "first run, a long line\nsecond\n")
	next("first run, a long line")
	next("second")
	write(os.O_TRUNC, "new\n") // shorter than what was read: a restart
	next("new")
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(os.O_TRUNC, "replaced, and longer than before\n")
	next("replaced, and longer than before")
	write(os.O_APPEND, "end\n")
	next("end")
	if err := <-done; err != nil {
		t.Fatalf("Follow: %v", err)
	}
}
