package driver

import (
	"crypto/sha256"
	"encoding/hex"
)

// MountTag is the tag a 9p or virtiofs share is exported under, which the guest's mount entry names
// (cloud-init `mounts:` in cidata). It is "lima-" plus the first 8 hex digits of
// sha256(location + ":" + mountPoint): stable across restarts, unique enough for a handful of mounts,
// and short enough for every hypervisor's tag limit (virtio-9p allows 31 bytes).
func MountTag(location, mountPoint string) string {
	sum := sha256.Sum256([]byte(location + ":" + mountPoint))
	return "lima-" + hex.EncodeToString(sum[:])[:8]
}
