package hostagent

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestConsoleFollow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "serial.log")
	c := NewConsole(path)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Follow(ctx) // the file does not exist yet: Follow waits for it

	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString("[    1.0] kernel line\r\nLIMA| boot-start iid-1\nLIMA| ssh-re"); err != nil {
		t.Fatal(err)
	}
	<-c.Wake() // woken by the boot-start line
	if !c.Seen("boot-start", "iid-1") {
		t.Fatal("boot-start not seen")
	}
	if c.Seen("ssh-ready", "") {
		t.Fatal("a partial line counted as an event")
	}
	if _, err := f.WriteString("ady iid-1\n"); err != nil {
		t.Fatal(err)
	}
	<-c.Wake()
	if !c.Seen("ssh-ready", "iid-1") || c.Seen("ssh-ready", "iid-2") {
		t.Fatal("ssh-ready for iid-1 only")
	}
	want := []string{"[    1.0] kernel line", "LIMA| boot-start iid-1", "LIMA| ssh-ready iid-1"}
	if diff := cmp.Diff(want, c.Tail(10)); diff != "" {
		t.Errorf("Tail (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[2:], c.Tail(1)); diff != "" {
		t.Errorf("Tail(1) (-want +got):\n%s", diff)
	}
	if !c.Written() {
		t.Error("Written() = false")
	}
}

func TestConsoleTailBounded(t *testing.T) {
	c := NewConsole("")
	for i := 0; i < 3*consoleTailLines; i++ {
		c.consume([]byte("line\n"))
	}
	if got := len(c.Tail(1000)); got != consoleTailLines {
		t.Errorf("kept %d lines, want %d", got, consoleTailLines)
	}
	select {
	case <-c.Wake():
		t.Error("plain lines woke the readiness step")
	case <-time.After(10 * time.Millisecond):
	}
}
