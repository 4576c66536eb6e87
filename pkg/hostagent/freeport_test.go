package hostagent

import (
	"net"
	"strconv"
	"testing"
)

// TestFreePortBelowEphemeral: the SSH port is taken below the range the OS hands out as source
// ports (so that no outgoing connection takes it before QEMU binds it), and is free.
func TestFreePortBelowEphemeral(t *testing.T) {
	low := ephemeralLow()
	for range 20 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		if low > freePortMin+1000 && (port < freePortMin || port >= low) {
			t.Errorf("port %d, want it in [%d, %d)", port, freePortMin, low)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			t.Errorf("port %d is not free: %v", port, err)
			continue
		}
		_ = l.Close()
	}
}
