//go:build darwin && cgo && arm64

package vz

import "github.com/Code-Hex/vz/v3"

// Rosetta for Linux exists only on Apple silicon; vz declares its API in *_arm64.go files.

func rosettaAvailability() string {
	switch vz.LinuxRosettaDirectoryShareAvailability() {
	case vz.LinuxRosettaAvailabilityInstalled:
		return RosettaInstalled
	case vz.LinuxRosettaAvailabilityNotInstalled:
		return RosettaNotInstalled
	}
	return RosettaUnsupported
}

func rosettaDevice(r *Rosetta) (vz.DirectorySharingDeviceConfiguration, error) {
	if r.Install {
		if err := vz.LinuxRosettaDirectoryShareInstallRosetta(); err != nil {
			return nil, err
		}
	}
	share, err := vz.NewLinuxRosettaDirectoryShare()
	if err != nil {
		return nil, err
	}
	fs, err := vz.NewVirtioFileSystemDeviceConfiguration(r.Tag)
	if err != nil {
		return nil, err
	}
	fs.SetDirectoryShare(share)
	return fs, nil
}
