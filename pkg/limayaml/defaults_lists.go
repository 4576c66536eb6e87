package limayaml

import (
	"crypto/sha256"
	"fmt"
	"net"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/limactl/limactl/pkg/store/filenames"
)

// fillMounts walks default, lima.yaml and override mounts in that order. An entry whose mountPoint
// (or location, when mountPoint is unset) matches an earlier one updates it: its non-nil fields win.
func fillMounts(y, d, o *LimaYAML, instDir, instName string) {
	host := hostTemplateData(instDir, instName, y.Param)
	guest := guestTemplateData(y, instName)
	var mounts []Mount
	index := map[string]int{}
	for _, m := range slices.Concat(d.Mounts, y.Mounts, o.Mounts) {
		m.Location = expandTilde(expand("mounts.location", m.Location, host))
		if m.Location != "" {
			m.Location = filepath.Clean(m.Location)
		}
		m.MountPoint = expandPtr("mounts.mountPoint", m.MountPoint, guest)
		key := m.Location
		if m.MountPoint != nil {
			key = *m.MountPoint
		}
		i, ok := index[key]
		if !ok {
			index[key] = len(mounts)
			mounts = append(mounts, m)
			continue
		}
		mergeMount(&mounts[i], m)
	}
	for i := range mounts {
		m := &mounts[i]
		m.Writable = first(false, m.Writable)
		m.SSHFS.Cache = first(true, m.SSHFS.Cache)
		m.SSHFS.FollowSymlinks = first(false, m.SSHFS.FollowSymlinks)
		m.SSHFS.SFTPDriver = first("", m.SSHFS.SFTPDriver)
		m.NineP.SecurityModel = first("none", m.NineP.SecurityModel)
		m.NineP.ProtocolVersion = first("9p2000.L", m.NineP.ProtocolVersion)
		m.NineP.Msize = first("128KiB", m.NineP.Msize)
		cache := "fscache"
		if *m.Writable {
			cache = "mmap"
		}
		m.NineP.Cache = first(cache, m.NineP.Cache)
		if m.Virtiofs.QueueSize == nil && Host().OS == "linux" {
			m.Virtiofs.QueueSize = ptr(1024)
		}
		if m.MountPoint == nil {
			m.MountPoint = ptr(guestPathOf(m.Location, *y.VMType))
		}
	}
	y.Mounts = mounts
}

// guestPathOf is the default guest path of a host directory: the same path, except that a Windows
// drive path C:\x\y becomes /c/x/y (/mnt/c/x/y under WSL2, where the drives are mounted).
func guestPathOf(location string, vmType VMType) string {
	if Host().OS != "windows" || len(location) < 2 || location[1] != ':' {
		return location
	}
	rest := strings.ReplaceAll(location[2:], `\`, "/")
	p := "/" + strings.ToLower(location[:1]) + path.Clean("/"+rest)
	if vmType == WSL2 {
		p = "/mnt" + p
	}
	return strings.TrimSuffix(p, "/")
}

func mergeMount(dst *Mount, m Mount) {
	dst.Location = m.Location
	set := func(to **string, from *string) {
		if from != nil {
			*to = from
		}
	}
	setBool := func(to **bool, from *bool) {
		if from != nil {
			*to = from
		}
	}
	set(&dst.MountPoint, m.MountPoint)
	setBool(&dst.Writable, m.Writable)
	setBool(&dst.SSHFS.Cache, m.SSHFS.Cache)
	setBool(&dst.SSHFS.FollowSymlinks, m.SSHFS.FollowSymlinks)
	set(&dst.SSHFS.SFTPDriver, m.SSHFS.SFTPDriver)
	set(&dst.NineP.SecurityModel, m.NineP.SecurityModel)
	set(&dst.NineP.ProtocolVersion, m.NineP.ProtocolVersion)
	set(&dst.NineP.Msize, m.NineP.Msize)
	set(&dst.NineP.Cache, m.NineP.Cache)
	if m.Virtiofs.QueueSize != nil {
		dst.Virtiofs.QueueSize = m.Virtiofs.QueueSize
	}
}

// fillNetworks walks default, lima.yaml and override networks in that order and merges entries with
// the same non-empty interface name; a later lima/socket/vzNAT replaces the earlier kind.
func fillNetworks(y, d, o *LimaYAML, filePath string) {
	var nets []Network
	index := map[string]int{}
	for _, nw := range slices.Concat(d.Networks, y.Networks, o.Networks) {
		i, ok := index[nw.Interface]
		if !ok || nw.Interface == "" {
			if nw.Interface != "" {
				index[nw.Interface] = len(nets)
			}
			nets = append(nets, nw)
			continue
		}
		dst := &nets[i]
		switch {
		case nw.Lima != "":
			dst.Lima, dst.Socket, dst.VZNAT = nw.Lima, "", nil
		case nw.Socket != "":
			dst.Lima, dst.Socket, dst.VZNAT = "", nw.Socket, nil
		case nw.VZNAT != nil && *nw.VZNAT:
			dst.Lima, dst.Socket, dst.VZNAT = "", "", nw.VZNAT
		}
		if nw.MACAddress != "" {
			dst.MACAddress = nw.MACAddress
		}
		if nw.Metric != nil {
			dst.Metric = nw.Metric
		}
	}
	for i := range nets {
		nw := &nets[i]
		if nw.MACAddress == "" {
			nw.MACAddress = MACAddress(fmt.Sprintf("%s#%d", filePath, i))
		}
		if nw.Interface == "" {
			nw.Interface = "lima" + strconv.Itoa(i)
		}
		if nw.Metric == nil {
			nw.Metric = ptr(uint32(100))
		}
	}
	y.Networks = nets
}

// MACAddress derives a stable, locally administered MAC address (52:55:55:xx:xx:xx) from the host's
// machine id and uniqueID.
func MACAddress(uniqueID string) string {
	sum := sha256.Sum256([]byte(Host().MachineID + uniqueID))
	return net.HardwareAddr{0x52, 0x55, 0x55, sum[0], sum[1], sum[2]}.String()
}

func fillProvision(y, d, o *LimaYAML, guest map[string]any) {
	y.Provision = slices.Concat(o.Provision, y.Provision, d.Provision)
	for i := range y.Provision {
		p := &y.Provision[i]
		if p.Mode == "" {
			p.Mode = ProvisionModeSystem
		}
		switch p.Mode {
		case ProvisionModeData:
			p.Owner = first("root:root", p.Owner)
			p.Permissions = first("644", p.Permissions)
			p.Overwrite = first(true, p.Overwrite)
		case ProvisionModeYQ:
			p.Format = first("auto", p.Format)
		case ProvisionModeDependency:
			p.SkipDefaultDependencyResolution = first(false, p.SkipDefaultDependencyResolution)
		}
		p.Script = expandPtr("provision.script", p.Script, guest)
		p.Content = expandPtr("provision.content", p.Content, guest)
		p.Path = expandPtr("provision.path", p.Path, guest)
		p.Owner = expandPtr("provision.owner", p.Owner, guest)
		p.Expression = expandPtr("provision.expression", p.Expression, guest)
	}
}

func fillProbes(y, d, o *LimaYAML, guest map[string]any) {
	y.Probes = slices.Concat(o.Probes, y.Probes, d.Probes)
	for i := range y.Probes {
		p := &y.Probes[i]
		if p.Mode == "" {
			p.Mode = ProbeModeReadiness
		}
		if p.Description == "" {
			p.Description = fmt.Sprintf("user probe %d/%d", i+1, len(y.Probes))
		}
		p.Script = expandPtr("probes.script", p.Script, guest)
	}
}

// FillPortForwardDefaults completes one rule: guestIP 127.0.0.1 (0.0.0.0 when guestIPMustBeZero),
// hostIP 127.0.0.1, proto any, ranges from the single ports (or 1-65535), templates expanded and a
// relative hostSocket placed under <instDir>/sock/. user must be filled (FillDefault does it); the
// instance name is the base name of instDir.
func FillPortForwardDefaults(r *PortForward, instDir string, user User, param map[string]string) {
	name := filepath.Base(instDir)
	y := &LimaYAML{User: user, Param: param}
	fillPortForward(r, instDir, guestTemplateData(y, name), hostTemplateData(instDir, name, param))
}

func fillPortForward(r *PortForward, instDir string, guest, host map[string]any) {
	if r.Proto == "" {
		r.Proto = ProtoAny
	}
	if r.GuestIP == "" {
		r.GuestIP = "127.0.0.1"
		if r.GuestIPMustBeZero {
			r.GuestIP = "0.0.0.0"
		}
	}
	if r.HostIP == "" {
		r.HostIP = "127.0.0.1"
	}
	if r.GuestPortRange == [2]int{} {
		if r.GuestPort == 0 {
			r.GuestPortRange = [2]int{1, 65535}
		} else {
			r.GuestPortRange = [2]int{r.GuestPort, r.GuestPort}
		}
	}
	if r.HostPortRange == [2]int{} {
		if r.HostPort == 0 {
			r.HostPortRange = r.GuestPortRange
		} else {
			r.HostPortRange = [2]int{r.HostPort, r.HostPort}
		}
	}
	if r.GuestSocket != "" {
		r.GuestSocket = expand("portForwards.guestSocket", r.GuestSocket, guest)
	}
	if r.HostSocket != "" {
		r.HostSocket = expand("portForwards.hostSocket", r.HostSocket, host)
		if !filepath.IsAbs(r.HostSocket) {
			r.HostSocket = filepath.Join(instDir, filenames.SocketDir, r.HostSocket)
		}
	}
}
