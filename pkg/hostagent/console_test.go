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

// TestConsoleBounded: a guest that prints without end, announces thousands of distinct events and
// writes a line of a megabyte. serial.log is rotated to serial.log.1 (the writer appends, as QEMU
// with logappend=on does), so the two stay near the cap; every line still reaches the follower,
// across rotations; the remembered events and the kept lines are capped. On the previous code
// serial.log grew with the guest's output, every announcement was kept, and lines were kept whole.
func TestConsoleBounded(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "serial.log")
	c := NewConsole(path)
	c.maxLog = 64 << 10
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Follow(ctx)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var wrote int64
	write := func(s string) {
		t.Helper()
		n, err := f.WriteString(s)
		if err != nil {
			t.Fatal(err)
		}
		wrote += int64(n)
	}
	write(strings.Repeat("x", 1<<20) + "\n")
	for i := range 4000 {
		write(fmt.Sprintf("LIMA| boot-start iid-%d %s\n", i, strings.Repeat("y", 100)))
		if i%500 == 0 {
			time.Sleep(2 * consolePoll) // let the follower rotate between bursts
		}
	}
	write("LIMA| ssh-ready iid-last\n")
	deadline := time.Now().Add(20 * time.Second)
	for !c.Seen("ssh-ready", "iid-last") {
		if time.Now().After(deadline) {
			t.Fatal("the last line was not seen")
		}
		time.Sleep(10 * time.Millisecond)
	}
	var kept int64
	for _, p := range []string{path, path + ".1"} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		// One poll's worth of output past the cap at most; here the bursts are ~64 KiB, the first line 1 MiB.
		if st.Size() > c.maxLog+(1<<20)+64<<10 {
			t.Errorf("%s is %d bytes; the cap is %d", p, st.Size(), c.maxLog)
		}
		kept += st.Size()
	}
	if kept >= wrote {
		t.Errorf("serial.log and serial.log.1 hold %d bytes of the %d written: not rotated", kept, wrote)
	}
	if c.Seen("boot-start", "iid-0") || !c.Seen("boot-start", "iid-3999") {
		t.Errorf("events: iid-0 seen %v, iid-3999 seen %v; want the last %d remembered only",
			c.Seen("boot-start", "iid-0"), c.Seen("boot-start", "iid-3999"), maxEventIIDs)
	}
	for i := range 2 * maxEventNames {
		c.consume(fmt.Appendf(nil, "LIMA| made-up-%d\n", i))
	}
	c.mu.Lock()
	names := len(c.events)
	c.mu.Unlock()
	if names > maxEventNames {
		t.Errorf("%d event names remembered, want at most %d", names, maxEventNames)
	}
	for _, l := range c.Tail(consoleTailLines) {
		if len(l) > consoleLineMax {
			t.Errorf("kept a line of %d bytes", len(l))
		}
	}
}
