package sshutil

import (
	"context"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// openPTY opens a pseudo-terminal pair without cgo or extra modules.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Skip(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Skip(err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skip(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// TestRunShellTerminal runs a session on a real local terminal: the PTY request carries its size,
// it is raw during the session and restored afterwards, and a resize reaches the guest.
func TestRunShellTerminal(t *testing.T) {
	master, slave := openPTY(t)
	fd := int(slave.Fd())
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 40, Col: 100}); err != nil {
		t.Fatal(err)
	}
	before, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	go func() { // drain the terminal so the guest's output never blocks
		buf := make([]byte, 4096)
		for {
			if _, err := master.Read(buf); err != nil {
				return
			}
		}
	}()
	srv, opts := fakeGuest(t)
	client := dial(t, opts)

	type result struct {
		code int
		err  error
	}
	done := make(chan result, 1)
	go func() {
		code, err := RunShell(context.Background(), client, ShellOptions{
			TTY: true, Stdin: slave, Stdout: slave, Stderr: slave,
			Args: []string{"sh", "-c", "head -c 1 >/dev/null; exit 7"},
		})
		done <- result{code, err}
	}()
	// While the session runs the terminal is raw; a resize is forwarded.
	for deadline := time.Now().Add(60 * time.Second); ; {
		during, err := unix.IoctlGetTermios(fd, unix.TCGETS)
		if err != nil {
			t.Fatal(err)
		}
		if during.Lflag&unix.ICANON == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the terminal never went raw")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := unix.IoctlSetWinsize(fd, unix.TIOCSWINSZ, &unix.Winsize{Row: 50, Col: 120}); err != nil {
		t.Fatal(err)
	}
	// Let the command finish only once the resize has arrived. The terminal goes raw a moment before
	// RunShell listens for SIGWINCH, so the signal is repeated until the guest sees a change.
	for deadline := time.Now().Add(60 * time.Second); len(srv.WindowChanges()) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("no window-change reached the guest")
		}
		if err := syscall.Kill(os.Getpid(), syscall.SIGWINCH); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, err := master.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	r := <-done
	if r.code != 7 || r.err != nil {
		t.Fatalf("RunShell = %d, %v; want 7", r.code, r.err)
	}
	after, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if *after != *before {
		t.Errorf("terminal state not restored:\nbefore %+v\nafter  %+v", before, after)
	}
	if got := srv.PTYRequests(); len(got) != 1 || got[0].Cols != 100 || got[0].Rows != 40 {
		t.Errorf("PTY requests = %+v, want one of 100x40", got)
	}
	if got := srv.WindowChanges(); len(got) != 1 || got[0].Cols != 120 || got[0].Rows != 50 {
		t.Errorf("window changes = %+v, want one to 120x50", got)
	}
}
