//go:build darwin && cgo && !arm64

package vz

import (
	"errors"

	"github.com/Code-Hex/vz/v3"
)

// Intel Macs have no Rosetta for Linux; Plan never asks for it there.

func rosettaAvailability() string { return RosettaUnsupported }

func rosettaDevice(*Rosetta) (vz.DirectorySharingDeviceConfiguration, error) {
	return nil, errors.New("there is no Rosetta for Linux on Intel Macs")
}
