package qemu

import (
	"context"
	"fmt"
	"net"
	"time"
)

// waitForSocket waits until something accepts connections on the Unix socket path, or ctx ends, or
// exited (when non-nil) is closed. It polls with a short, growing interval: QEMU gives no other signal that its
// sockets are ready.
func waitForSocket(ctx context.Context, path string, exited <-chan struct{}) error {
	delay := 5 * time.Millisecond
	for {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("QEMU exited before creating %s", path)
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}
