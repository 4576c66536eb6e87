//go:build linux

package qemu

import (
	"errors"
	"fmt"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/shmring"
)

// TestTunnelRingSeals: the memfd cannot change size, not even through a new open of
// /proc/self/fd/N (what QEMU's memory-backend-file does), and it does not leak into children.
func TestTunnelRingSeals(t *testing.T) {
	f, mem, err := newTunnelRing()
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = unix.Munmap(mem); _ = f.Close() }()
	if flags, err := unix.FcntlInt(f.Fd(), unix.F_GETFD, 0); err != nil || flags&unix.FD_CLOEXEC == 0 {
		t.Errorf("F_GETFD = %#x, %v: want FD_CLOEXEC", flags, err)
	}
	re, err := os.OpenFile(fmt.Sprintf("/proc/self/fd/%d", f.Fd()), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = re.Close() }()
	for _, size := range []int64{0, shmring.Size / 2, shmring.Size * 2} {
		if err := re.Truncate(size); !errors.Is(err, unix.EPERM) {
			t.Errorf("truncate to %d through a new open: %v, want EPERM", size, err)
		}
	}
	if _, err := unix.FcntlInt(re.Fd(), unix.F_ADD_SEALS, 0); !errors.Is(err, unix.EPERM) {
		t.Errorf("adding seals: %v, want EPERM (F_SEAL_SEAL)", err)
	}
	// A punched hole (the one size-preserving change left to QEMU) reads back as zeros; no SIGBUS.
	mem[shmring.Size-1] = 7
	if err := unix.Fallocate(int(re.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, 0, shmring.Size); err != nil {
		t.Logf("punch hole: %v", err)
	}
	mem[shmring.Size-1] = 8
	if st, err := re.Stat(); err != nil || st.Size() != shmring.Size {
		t.Errorf("size after all that: %v %v", st, err)
	}
}
