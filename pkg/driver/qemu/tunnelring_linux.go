package qemu

import (
	"os"

	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/shmring"
)

// newTunnelRing makes the shared memory of the tunnel's ring: a memfd of shmring.Size bytes, sealed
// so that its size cannot change (nothing can make the host agent's mapping fault), and the host
// agent's own mapping of it. QEMU gets the file as fd 3 (tunnelRingFD) and maps it for the guest
// through an ivshmem-plain device.
func newTunnelRing() (*os.File, []byte, error) {
	fd, err := unix.MemfdCreate("limactl-tunnel-ring", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, nil, err
	}
	f := os.NewFile(uintptr(fd), "limactl-tunnel-ring")
	if err := f.Truncate(shmring.Size); err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW|unix.F_SEAL_SEAL); err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	mem, err := unix.Mmap(int(f.Fd()), 0, shmring.Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		_ = f.Close()
		return nil, nil, err
	}
	return f, mem, nil
}
