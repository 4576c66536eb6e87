package limayaml

import "golang.org/x/sys/unix"

func detectPlatform(h *HostInfo) {
	if mem, err := unix.SysctlUint64("hw.memsize"); err == nil {
		h.MemoryBytes = int64(mem)
	}
	if v, err := unix.Sysctl("kern.osproductversion"); err == nil {
		h.MacOSVersion = v
	}
}
