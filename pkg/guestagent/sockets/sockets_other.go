//go:build !linux

package sockets

import (
	"errors"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// Scan is only implemented on Linux.
func Scan() ([]api.Port, error) { return nil, errors.New("listing sockets is only supported on Linux") }
