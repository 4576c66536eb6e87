//go:build !linux

package guestagent

import (
	"context"
	"errors"
)

// ServeVsock is only implemented on Linux.
func (a *Agent) ServeVsock(ctx context.Context, port uint32) error {
	return errors.New("vsock is only supported on Linux guests")
}
