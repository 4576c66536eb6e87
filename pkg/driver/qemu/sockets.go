package qemu

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"strconv"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Sockets are the Unix sockets QEMU listens on for one instance.
type Sockets struct {
	// Dir holds them: the instance directory, or a short directory under HostFacts.TempDir when the
	// instance directory is too long (see planSockets).
	Dir        string
	QMP        string
	Serial     string
	GuestAgent string
	// GuestAgentTunnel is the host end of the tunnel's virtio-serial port (GuestAgentTunnelPort).
	GuestAgentTunnel string
	// Virtiofsd[i] is the socket of the virtiofsd serving the i-th virtiofs mount.
	Virtiofsd []string
}

// Symlink is a symbolic link the driver creates before starting QEMU.
type Symlink struct {
	Link, Target string
}

// maxSocketPath is the longest path bind(2) accepts for a Unix socket: sun_path is 108 bytes on Linux
// and 104 on the BSDs and macOS, including the terminating NUL.
func maxSocketPath(hostOS string) int { return osutil.UnixPathMax(hostOS) - 1 }

// GuestAgentTunnelSock is the host end of the guest agent's tunnel port, next to ga.sock.
const GuestAgentTunnelSock = "gat.sock"

// virtiofsdSock names the socket of the i-th virtiofsd.
func virtiofsdSock(i int) string { return "virtiofsd-" + strconv.Itoa(i) + ".sock" }

// planSockets decides where QEMU's sockets go. Lima's tools and users expect them in the instance
// directory, so they go there whenever every path fits the socket limit. When the instance directory is
// too long (deep $LIMA_HOME, long instance names), they go to TempDir/lima-UID/HASH, a short directory
// named by a hash of the instance directory, and the instance directory gets symlinks to them under the
// usual names. QEMU and our own code always use the real, short paths; the symlinks are for people and
// for tools that only look. If even the short directory is too long, planning fails.
func planSockets(cfg driver.Config, host HostFacts, nVirtiofs int) (Sockets, []string, []Symlink, error) {
	names := []string{filenames.QMPSock, filenames.SerialSock, filenames.GuestAgentSock, GuestAgentTunnelSock}
	for i := range nVirtiofs {
		names = append(names, virtiofsdSock(i))
	}
	longest := ""
	for _, n := range names {
		if len(n) > len(longest) {
			longest = n
		}
	}
	limit := maxSocketPath(host.OS)
	dir := cfg.InstanceDir
	var dirs []string
	var links []Symlink
	if len(filepath.Join(dir, longest)) > limit {
		tmp := host.TempDir
		if tmp == "" {
			tmp = "/tmp"
		}
		sum := sha256.Sum256([]byte(cfg.InstanceDir))
		parent := filepath.Join(tmp, "lima-"+strconv.Itoa(host.UID))
		dir = filepath.Join(parent, hex.EncodeToString(sum[:])[:12])
		if p := filepath.Join(dir, longest); len(p) > limit {
			return Sockets{}, nil, nil, fmt.Errorf("the socket path %s is longer than the %d bytes Unix sockets allow, and so is the fallback %s; use a shorter instance directory or TMPDIR: %w",
				filepath.Join(cfg.InstanceDir, longest), limit, p, driver.ErrInvalidConfig)
		}
		dirs = append(dirs, parent, dir)
		for _, n := range names {
			links = append(links, Symlink{Link: filepath.Join(cfg.InstanceDir, n), Target: filepath.Join(dir, n)})
		}
	}
	s := Sockets{
		Dir:              dir,
		QMP:              filepath.Join(dir, filenames.QMPSock),
		Serial:           filepath.Join(dir, filenames.SerialSock),
		GuestAgent:       filepath.Join(dir, filenames.GuestAgentSock),
		GuestAgentTunnel: filepath.Join(dir, GuestAgentTunnelSock),
	}
	for i := range nVirtiofs {
		s.Virtiofsd = append(s.Virtiofsd, filepath.Join(dir, virtiofsdSock(i)))
	}
	return s, dirs, links, nil
}
