package guestagent

import (
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/shmring"
)

// ivshmem-plain's PCI ids (QEMU's docs/specs/ivshmem-spec.rst): the shared memory is BAR 2.
const (
	ivshmemVendor = "0x1af4"
	ivshmemDevice = "0x1110"
)

var (
	ringsOnce sync.Once
	rings     [][]byte
)

// tunnelRings maps, once, the BAR 2 of every ivshmem-plain device of shmring.Size bytes: the host's
// tunnel ring is one of them (the handshake tells which). None when there is no such device, or the
// kernel does not let root map PCI resources (lockdown): the tunnel then carries both directions on
// its virtio-serial port.
func tunnelRings() [][]byte {
	ringsOnce.Do(func() {
		devs, _ := filepath.Glob("/sys/bus/pci/devices/*")
		for _, dev := range devs {
			if readSysfs(dev, "vendor") != ivshmemVendor || readSysfs(dev, "device") != ivshmemDevice {
				continue
			}
			mem, err := mapBAR(dev)
			if err != nil {
				logrus.WithError(err).Infof("tunnel: cannot map the shared memory of %s; the tunnel uses its port only", filepath.Base(dev))
				continue
			}
			rings = append(rings, mem)
		}
	})
	return rings
}

func readSysfs(dev, name string) string {
	b, _ := os.ReadFile(filepath.Join(dev, name))
	return strings.TrimSpace(string(b))
}

func mapBAR(dev string) ([]byte, error) {
	res := filepath.Join(dev, "resource2")
	fi, err := os.Stat(res)
	if err != nil {
		return nil, err
	}
	if fi.Size() != shmring.Size {
		return nil, os.ErrInvalid
	}
	// No write to "enable": the firmware turns memory decoding on for every BAR it places, and
	// where it did not, the region reads as no session and the tunnel keeps its port.
	f, err := os.OpenFile(res, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return unix.Mmap(int(f.Fd()), 0, shmring.Size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
}
