package qemu

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"time"
)

// waitForSocket waits until something accepts connections on the Unix socket path, or ctx ends, or cmd
// (when non-nil) exits. It polls with a short, growing interval: QEMU gives no other signal that its
// sockets are ready.
func waitForSocket(ctx context.Context, path string, cmd *exec.Cmd) error {
	delay := 5 * time.Millisecond
	for {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil
		}
		if cmd != nil && cmd.ProcessState != nil {
			return fmt.Errorf("QEMU exited before creating %s", path)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", path, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}
