package guestagent

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// openPTY returns a raw pseudo-terminal: the master (the "host") and the slave's path (the "port").
// A slave descriptor stays open until the test ends, so the master never reads EIO for want of one.
func openPTY(t *testing.T) (*os.File, string) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals here: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/dev/pts/%d", n)
	s, err := os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	// cfmakeraw: no echo, no line editing, no newline translation.
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	return m, path
}

// TestServePortOverPTY uses a pseudo-terminal as the port: when the "host" (master) goes away the
// agent's reads end (EOF or EIO, as on a device whose other end vanished); the agent keeps going,
// reopens the port, and serves the next host.
func TestServePortOverPTY(t *testing.T) {
	minBackoff, maxBackoff = time.Millisecond, 5*time.Millisecond
	eofReopen = 5
	defer func() { eofReopen = 30 }()
	fs := &fakeScan{}
	fs.set(p8000)
	a := New(fs.scan, time.Hour)
	a.ScanOnce()

	var mu sync.Mutex
	master, path := openPTY(t)
	opens := 0
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- a.ServePort(ctx, func() (io.ReadWriteCloser, error) {
			mu.Lock()
			defer mu.Unlock()
			opens++
			return os.OpenFile(path, os.O_RDWR|unix.O_NOCTTY, 0)
		})
	}()
	ask := func(host *os.File, want ...api.Port) {
		t.Helper()
		if err := api.NewEncoder(host).Encode(api.Message{Type: api.TypeGetInfo}); err != nil {
			t.Fatal(err)
		}
		dec := api.NewDecoder(host)
		for {
			m, err := dec.Decode()
			if err != nil {
				t.Fatal(err)
			}
			if m.Type == api.TypeInfo && len(m.LocalPorts) == len(want) && (len(want) == 0 || m.LocalPorts[0] == want[0]) {
				return
			}
		}
	}
	ask(master, p8000)

	// The host vanishes; a new one appears on another pty.
	_ = master.Close()
	fs.set(p53)
	a.ScanOnce()
	mu.Lock()
	master, path = openPTY(t)
	mu.Unlock()
	defer func() { _ = master.Close() }()
	ask(master, p53)

	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("ServePort after cancel = %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if opens < 2 {
		t.Errorf("the port was opened %d times; want a reopen after the EIO", opens)
	}
}
