package driver

import (
	"crypto/sha256"
	"fmt"
)

// MACAddress derives the primary NIC's MAC from the instance directory: stable across restarts and
// vmTypes (qemu and vz use it both), distinct between instances, in the locally administered 52:55:55
// range Lima uses. (networks[] entries get theirs from limayaml.MACAddress, which also mixes in the
// host's machine ID.)
func MACAddress(instanceDir string) string {
	sum := sha256.Sum256([]byte(instanceDir))
	return fmt.Sprintf("52:55:55:%02x:%02x:%02x", sum[0], sum[1], sum[2])
}
