//go:build !linux

package qemu

import (
	"errors"
	"os"
)

// newTunnelRing: the ring's memory is a Linux memfd; elsewhere the tunnel uses its port both ways.
func newTunnelRing() (*os.File, []byte, error) {
	return nil, nil, errors.ErrUnsupported
}
