//go:build !linux && !darwin && !windows

package limayaml

func detectPlatform(h *HostInfo) {}
