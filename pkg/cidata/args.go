package cidata

import (
	"fmt"
	"strings"

	units "github.com/docker/go-units"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// Addresses of the user-mode network (QEMU slirp, and the gvisor-tap-vsock network of vz): the
// host is reachable at the gateway, and DNS queries to SlirpDNS are answered by the hypervisor (or,
// with hostResolver, redirected to the host agent).
const (
	DefaultSlirpGateway   = "192.168.5.2"
	DefaultSlirpDNS       = "192.168.5.3"
	DefaultSlirpIPAddress = "192.168.5.15"
	SlirpNICName          = "eth0"
	slirpMetric           = 200
)

// VirtioPortName is the virtio-serial port the guest agent listens on when the driver has one.
const VirtioPortName = "io.lima-vm.guest_agent.0"

// Args is everything the seed is made of. Config must have been through limayaml.FillDefault (every
// pointer field that matters is set; guest templates such as {{.Home}} are expanded).
type Args struct {
	Name       string             // instance name
	Config     *limayaml.LimaYAML // the filled-in lima.yaml
	SSHPubKeys []string           // authorized_keys lines for the user
	HostKey    HostKey            // the instance's pinned SSH host key (see EnsureHostKey)
	MACAddress string             // MAC of the user-mode NIC (eth0), as the driver plan sets it

	// The user-mode network; empty means the Default* constants.
	SlirpGateway, SlirpDNS, SlirpIPAddress string

	// Mounts as the driver exports them; nil means MountsFromConfig(Config).
	Mounts []Mount

	GuestAgentBinary string // host path of the (uncompressed) guest agent; "" = none
	NerdctlArchive   string // host path of nerdctl-full.tgz; "" = none
	// NerdctlArchiveFile is the containerd.archives entry NerdctlArchive came from: its digest tells
	// the guest whether what it installed is still current, its location names it in messages.
	NerdctlArchiveFile limayaml.File
	VirtioPort         string // virtio-serial port name for the guest agent; "" = none
	VsockPort          int    // vsock port for the guest agent; 0 = none

	// Host agent DNS ports for this boot (hostResolver); 0 = none. They may change on every start and
	// are left out of the instance id.
	UDPDNSLocalPort, TCPDNSLocalPort int

	// ProxyEnv are the host's proxy variables (see HostProxyEnv), used when propagateProxyEnv is on.
	ProxyEnv map[string]string

	// BootScripts are the driver's extra scripts, keyed by their cidata path ("boot.Linux/05-x.sh").
	BootScripts map[string][]byte
}

// Mount is one host directory share as the guest sees it.
type Mount struct {
	MountPoint string // guest path
	Type       string // "9p", "virtiofs" or "reverse-sshfs"
	Tag        string // 9p/virtiofs tag (MountTag); "" for reverse-sshfs
	Options    string // guest mount options for 9p/virtiofs
	Writable   bool
}

// Hostname is the guest hostname of an instance: "lima-" + name with "." and "_" turned into "-".
func Hostname(name string) string {
	return "lima-" + strings.NewReplacer(".", "-", "_", "-").Replace(name)
}

// MountTag is the tag of a 9p or virtiofs share: "lima-" + the first 8 hex digits of
// sha256(location + ":" + mountPoint). It is driver.MountTag; the qemu plan uses the same function.
func MountTag(location, mountPoint string) string { return driver.MountTag(location, mountPoint) }

// MountsFromConfig derives the guest side of y.Mounts for y.MountType: tags for 9p and virtiofs and
// their mount options (read-only unless writable; nofail so a missing share does not stop the boot).
func MountsFromConfig(y *limayaml.LimaYAML) ([]Mount, error) {
	mountType := deref(y.MountType)
	var out []Mount
	for _, m := range y.Mounts {
		mp := deref(m.MountPoint)
		if mp == "" {
			mp = m.Location
		}
		gm := Mount{MountPoint: mp, Type: mountType, Writable: deref(m.Writable)}
		switch mountType {
		case limayaml.NINEP:
			gm.Tag = MountTag(m.Location, mp)
			msize, err := units.RAMInBytes(orDefault(m.NineP.Msize, "128KiB"))
			if err != nil {
				return nil, fmt.Errorf("mount %q: 9p.msize: %w; use a size such as 128KiB", m.Location, err)
			}
			cache := "fscache"
			if gm.Writable {
				cache = "mmap"
			}
			gm.Options = fmt.Sprintf("%strans=virtio,version=%s,msize=%d,cache=%s,nofail", roPrefix(gm.Writable),
				orDefault(m.NineP.ProtocolVersion, "9p2000.L"), msize, orDefault(m.NineP.Cache, cache))
		case limayaml.VIRTIOFS:
			gm.Tag = MountTag(m.Location, mp)
			gm.Options = roPrefix(gm.Writable) + "nofail"
		}
		out = append(out, gm)
	}
	return out, nil
}

func roPrefix(writable bool) string {
	if writable {
		return ""
	}
	return "ro,"
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

func orDefault(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

func boolFlag(b bool) string {
	if b {
		return "1"
	}
	return ""
}
