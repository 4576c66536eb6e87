package qemu

import (
	"os/exec"
	"testing"
)

// TestQEMUHasDevice: the tunnel ring's device is asked of the QEMU binary, which answers a device it
// lacks with an error on stderr and exit status 0.
func TestQEMUHasDevice(t *testing.T) {
	bin, err := exec.LookPath("qemu-system-x86_64")
	if err != nil {
		t.Skip("no qemu-system-x86_64")
	}
	if !qemuHasDevice(t.Context(), bin, "ivshmem-plain") {
		t.Error("qemu-system-x86_64 has no ivshmem-plain, says qemuHasDevice")
	}
	if qemuHasDevice(t.Context(), bin, "limactl-no-such-device") {
		t.Error("qemuHasDevice says QEMU has a device that does not exist")
	}
}
