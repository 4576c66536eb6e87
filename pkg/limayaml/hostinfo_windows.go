package limayaml

import (
	"unsafe"

	"golang.org/x/sys/windows"
)

// memoryStatusEx is kernel32's MEMORYSTATUSEX.
type memoryStatusEx struct {
	Length               uint32
	MemoryLoad           uint32
	TotalPhys            uint64
	AvailPhys            uint64
	TotalPageFile        uint64
	AvailPageFile        uint64
	TotalVirtual         uint64
	AvailVirtual         uint64
	AvailExtendedVirtual uint64
}

func detectPlatform(h *HostInfo) {
	if v := windows.RtlGetVersion(); v != nil {
		h.WindowsBuild = int(v.BuildNumber)
	}
	proc := windows.NewLazySystemDLL("kernel32.dll").NewProc("GlobalMemoryStatusEx")
	var m memoryStatusEx
	m.Length = uint32(unsafe.Sizeof(m))
	if r, _, _ := proc.Call(uintptr(unsafe.Pointer(&m))); r != 0 {
		h.MemoryBytes = int64(m.TotalPhys)
	}
}
