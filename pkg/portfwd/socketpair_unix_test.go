//go:build unix

package portfwd

import (
	"net"
	"os"
	"syscall"
	"testing"
)

// socketPair returns the two ends of a Unix stream socketpair, as net.Conns (with deadlines).
func socketPair(t testing.TB) (net.Conn, net.Conn) {
	t.Helper()
	// No SOCK_CLOEXEC (darwin has none): FileConn dups each fd with close-on-exec, and the
	// originals are closed at once.
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM, 0)
	if err != nil {
		t.Fatal(err)
	}
	conn := func(fd int) net.Conn {
		f := os.NewFile(uintptr(fd), "socketpair")
		c, err := net.FileConn(f)
		_ = f.Close()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	return conn(fds[0]), conn(fds[1])
}
