package driver

import "testing"

// The tag is shared by the hypervisor side (qemu -virtfs, vhost-user-fs) and the guest side (cidata
// mount entries); pin it so a change to either is a deliberate one.
func TestMountTag(t *testing.T) {
	if got, want := MountTag("/home/u", "/home/u"), "lima-f872001c"; got != want {
		t.Errorf("MountTag = %q, want %q", got, want)
	}
	if MountTag("/a", "/b") == MountTag("/a", "/c") {
		t.Error("different mount points share a tag")
	}
}
