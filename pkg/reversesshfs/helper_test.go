package reversesshfs

import (
	"net"
	"testing"
)

// pipeServer serves root over an in-memory connection and returns the client's end. The server
// must end cleanly when the client closes it.
func pipeServer(tb testing.TB, root string, readOnly bool) net.Conn {
	tb.Helper()
	a, b := net.Pipe()
	srv, err := NewServer(root, readOnly)
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(a, a); err != nil {
			tb.Errorf("Serve: %v", err)
		}
		_ = a.Close()
	}()
	tb.Cleanup(func() { _ = b.Close(); <-done; _ = srv.Close() })
	return b
}
