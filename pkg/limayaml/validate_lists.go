package limayaml

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/docker/go-units"

	"github.com/limactl/limactl/pkg/osutil"
)

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// SFTP servers a reverse-sshfs mount can use (mounts[].sshfs.sftpDriver). An empty value lets
// limactl choose: the builtin one.
const (
	SFTPDriverBuiltin = "builtin"             // the SFTP server inside the host agent (pkg/reversesshfs)
	SFTPDriverOpenSSH = "openssh-sftp-server" // the host's OpenSSH sftp-server binary
)

// SFTPDrivers lists the accepted sftpDriver values.
var SFTPDrivers = []SFTPDriver{SFTPDriverBuiltin, SFTPDriverOpenSSH}

// reservedMountPoints are guest directories a mount would hide the system under.
var reservedMountPoints = []string{"/", "/bin", "/dev", "/etc", "/home", "/opt", "/sbin", "/tmp", "/usr", "/var"}

func (v *validator) validateMounts(y *LimaYAML) {
	for i, m := range y.Mounts {
		f := fmt.Sprintf("mounts[%d]", i)
		loc, err := expandLocalPath(m.Location)
		switch {
		case err != nil:
			v.errf(f+".location", "%v", err)
		case !filepath.IsAbs(loc):
			v.errf(f+".location", "%q must be an absolute path or start with ~", m.Location)
		default:
			st, err := os.Stat(loc)
			switch {
			case errors.Is(err, os.ErrNotExist):
				v.warnf(f+".location", "%q does not exist (yet); the mount will fail until it does", loc)
			case err != nil:
				v.errf(f+".location", "%q cannot be accessed: %v", loc, err)
			case !st.IsDir():
				v.errf(f+".location", "%q is not a directory: mount a directory", loc)
			}
		}
		if m.MountPoint != nil {
			mp := *m.MountPoint
			switch {
			case strings.HasPrefix(mp, "~"):
				v.errf(f+".mountPoint", "%q: ~ is not expanded in the guest; use {{.Home}} or an absolute path", mp)
			case val(y.OS) != WINDOWS && !path.IsAbs(mp):
				v.errf(f+".mountPoint", "%q must be an absolute path in the guest", mp)
			case slices.Contains(reservedMountPoints, path.Clean(mp)):
				v.errf(f+".mountPoint", "%q would hide a system directory of the guest: mount somewhere else", mp)
			case y.User.Home != nil && path.Clean(mp) == path.Clean(*y.User.Home):
				v.errf(f+".mountPoint", "%q is the guest user's home directory: mount somewhere else (or change user.home)", mp)
			}
		}
		if m.NineP.Msize != nil {
			if _, err := units.RAMInBytes(*m.NineP.Msize); err != nil {
				v.errf(f+".9p.msize", "cannot parse %q as a size: write it like 128KiB", *m.NineP.Msize)
			}
		}
		if d := val(m.SSHFS.SFTPDriver); d != "" && !slices.Contains(SFTPDrivers, d) {
			v.errf(f+".sshfs.sftpDriver", "unknown SFTP driver %q: use %s (or leave it empty)", d, strings.Join(SFTPDrivers, " or "))
		}
		if val(m.SSHFS.SFTPDriver) == SFTPDriverOpenSSH && val(m.Writable) && val(y.MountType) == REVSSHFS {
			// sftp-server has no root directory: the guest's sshfs may ask for any host path.
			v.errf(f+".sshfs.sftpDriver", "%s serves the whole host file system, so on a writable mount the guest could change any file the user can: "+
				"use sftpDriver %s (limited to %q), or make the mount read-only (writable: false; sftp-server then runs with -R)", SFTPDriverOpenSSH, SFTPDriverBuiltin, m.Location)
		}
		if m.Virtiofs.QueueSize != nil && Host().OS != "linux" {
			v.warnf(f+".virtiofs.queueSize", "queueSize is used only on Linux hosts; it is ignored here")
		}
	}
}

var dataOnlyFields = []string{"content", "overwrite", "owner", "path", "permissions", "format"}

func (v *validator) validateProvision(y *LimaYAML) {
	modes := []ProvisionMode{ProvisionModeSystem, ProvisionModeUser, ProvisionModeBoot, ProvisionModeDependency, ProvisionModeAnsible, ProvisionModeData, ProvisionModeYQ}
	for i, p := range y.Provision {
		f := fmt.Sprintf("provision[%d]", i)
		if p.File != nil {
			if p.File.URL != "" {
				v.errf(f+".file", "%q was not inlined: limactl create inlines provision files; create the instance from the template", p.File.URL)
			}
			if p.File.Digest != nil {
				v.errf(f+".file.digest", "digests of provision files are not supported yet: remove it")
			}
		}
		if !slices.Contains(modes, p.Mode) {
			v.errf(f+".mode", "unknown mode %q: use one of %s", p.Mode, strings.Join(modes, ", "))
			continue
		}
		if p.SkipDefaultDependencyResolution != nil && p.Mode != ProvisionModeDependency {
			v.errf(f+".skipDefaultDependencyResolution", "only applies to mode dependency, not %q: remove it", p.Mode)
		}
		if val(y.OS) == WINDOWS && slices.Contains([]ProvisionMode{ProvisionModeAnsible, ProvisionModeBoot, ProvisionModeYQ}, p.Mode) {
			v.errf(f+".mode", "mode %q is not supported for Windows guests", p.Mode)
		}
		script := val(p.Script)
		if strings.Contains(script, "LIMA_CIDATA") {
			v.warnf(f+".script", "LIMA_CIDATA variables are internal and may change; do not rely on them")
		}
		switch p.Mode {
		case ProvisionModeData, ProvisionModeYQ:
			switch {
			case p.Path == nil || *p.Path == "":
				v.errf(f+".path", "mode %s needs path: the guest file to write", p.Mode)
			case !path.IsAbs(*p.Path):
				v.errf(f+".path", "%q must be an absolute path in the guest", *p.Path)
			}
			if p.Mode == ProvisionModeData && p.Content == nil {
				v.errf(f+".content", "mode data needs content: the text to write")
			}
			if p.Mode == ProvisionModeYQ && (p.Expression == nil || *p.Expression == "") {
				v.errf(f+".expression", "mode yq needs expression: the yq expression to apply")
			}
			if p.Permissions != nil {
				if _, err := strconv.ParseUint(*p.Permissions, 8, 32); err != nil {
					v.errf(f+".permissions", "%q is not an octal mode such as 644", *p.Permissions)
				}
			}
			if p.Script != nil {
				v.errf(f+".script", "mode %s takes no script: remove it", p.Mode)
			}
		default:
			if p.Mode != ProvisionModeAnsible && script == "" {
				v.errf(f+".script", "mode %s needs a script", p.Mode)
			}
			for _, name := range dataOnlyFields {
				if provisionDataFieldSet(p, name) {
					v.errf(f+"."+name, "only applies to modes data and yq, not %q: remove it", p.Mode)
				}
			}
		}
		if p.Playbook != "" {
			switch {
			case p.Mode != ProvisionModeAnsible:
				v.errf(f+".playbook", "only applies to mode ansible, not %q", p.Mode)
			case script != "":
				v.errf(f+".playbook", "give either a playbook or a script, not both")
			default:
				if _, err := os.Stat(p.Playbook); err != nil {
					v.errf(f+".playbook", "cannot read the playbook %q: %v", p.Playbook, err)
				}
			}
		}
		if p.Mode == ProvisionModeAnsible {
			v.warnf(f+".mode", "mode ansible is deprecated: run ansible-playbook yourself after the instance is READY")
		}
	}
}

func provisionDataFieldSet(p Provision, name string) bool {
	switch name {
	case "content":
		return p.Content != nil
	case "overwrite":
		return p.Overwrite != nil
	case "owner":
		return p.Owner != nil
	case "path":
		return p.Path != nil
	case "permissions":
		return p.Permissions != nil
	case "format":
		return p.Format != nil
	}
	return false
}

func (v *validator) validateProbes(y *LimaYAML) {
	for i, p := range y.Probes {
		f := fmt.Sprintf("probes[%d]", i)
		if p.File != nil {
			if p.File.URL != "" {
				v.errf(f+".file", "%q was not inlined: limactl create inlines probe files; create the instance from the template", p.File.URL)
			}
			if p.File.Digest != nil {
				v.errf(f+".file.digest", "digests of probe files are not supported yet: remove it")
			}
		}
		if !strings.HasPrefix(val(p.Script), "#!") {
			v.errf(f+".script", "must start with an interpreter line such as #!/bin/bash")
		}
		if p.Mode != ProbeModeReadiness {
			v.errf(f+".mode", "unknown mode %q: the only mode is readiness", p.Mode)
		}
	}
}

// unixPathMax is the longest Unix socket path the host OS accepts, including the NUL.
func unixPathMax() int { return osutil.UnixPathMax(Host().OS) }

func (v *validator) validatePortForwards(y *LimaYAML) {
	for i, r := range y.PortForwards {
		f := fmt.Sprintf("portForwards[%d]", i)
		if r.GuestIPMustBeZero && r.GuestIP != "0.0.0.0" {
			v.errf(f+".guestIPMustBeZero", "can be true only with guestIP 0.0.0.0, got %q", r.GuestIP)
		}
		for _, ip := range []struct{ name, val string }{{"guestIP", r.GuestIP}, {"hostIP", r.HostIP}} {
			if net.ParseIP(ip.val) == nil {
				v.errf(f+"."+ip.name, "%q is not an IP address", ip.val)
			}
		}
		if r.GuestPort != 0 {
			if r.GuestSocket != "" {
				v.errf(f+".guestPort", "give guestPort or guestSocket, not both")
			} else if r.GuestPort != r.GuestPortRange[0] {
				v.errf(f+".guestPort", "%d differs from guestPortRange[0] %d: give one of them", r.GuestPort, r.GuestPortRange[0])
			}
		}
		if r.HostPort != 0 {
			if r.HostSocket != "" {
				v.errf(f+".hostPort", "give hostPort or hostSocket, not both")
			} else if r.HostPort != r.HostPortRange[0] {
				v.errf(f+".hostPort", "%d differs from hostPortRange[0] %d: give one of them", r.HostPort, r.HostPortRange[0])
			}
		}
		for j := range 2 {
			// A single port is a range of one: report it once.
			if j == 0 || r.GuestPortRange[1] != r.GuestPortRange[0] {
				v.validatePort(fmt.Sprintf("%s.guestPortRange[%d]", f, j), r.GuestPortRange[j])
			}
			if (j == 0 || r.HostPortRange[1] != r.HostPortRange[0]) && r.HostPortRange != r.GuestPortRange {
				v.validatePort(fmt.Sprintf("%s.hostPortRange[%d]", f, j), r.HostPortRange[j])
			}
		}
		if r.GuestPortRange[0] > r.GuestPortRange[1] {
			v.errf(f+".guestPortRange", "the range %d-%d is reversed: put the lower port first", r.GuestPortRange[0], r.GuestPortRange[1])
		}
		if r.HostPortRange[0] > r.HostPortRange[1] {
			v.errf(f+".hostPortRange", "the range %d-%d is reversed: put the lower port first", r.HostPortRange[0], r.HostPortRange[1])
		}
		guestSize, hostSize := r.GuestPortRange[1]-r.GuestPortRange[0], r.HostPortRange[1]-r.HostPortRange[0]
		if r.GuestSocket != "" {
			if !path.IsAbs(r.GuestSocket) {
				v.errf(f+".guestSocket", "%q must be an absolute path in the guest", r.GuestSocket)
			}
			if r.HostSocket == "" && hostSize > 0 {
				v.errf(f+".guestSocket", "a socket can be forwarded only to a hostSocket or a single hostPort, not the range %d-%d", r.HostPortRange[0], r.HostPortRange[1])
			}
		}
		if r.HostSocket != "" {
			if !filepath.IsAbs(r.HostSocket) {
				v.errf(f+".hostSocket", "%q must be an absolute path on the host", r.HostSocket)
			}
			if r.GuestSocket == "" && guestSize > 0 {
				v.errf(f+".hostSocket", "a socket can be forwarded only from a guestSocket or a single guestPort, not the range %d-%d", r.GuestPortRange[0], r.GuestPortRange[1])
			}
			if len(r.HostSocket) >= unixPathMax() {
				v.errf(f+".hostSocket", "%q is %d bytes, too long for a Unix socket (limit %d): use a shorter path", r.HostSocket, len(r.HostSocket), unixPathMax()-1)
			}
		}
		if r.GuestSocket == "" && r.HostSocket == "" && guestSize != hostSize {
			v.errf(f+".hostPortRange", "the host range %d-%d and the guest range %d-%d must hold the same number of ports", r.HostPortRange[0], r.HostPortRange[1], r.GuestPortRange[0], r.GuestPortRange[1])
		}
		if !slices.Contains([]Proto{ProtoTCP, ProtoUDP, ProtoAny}, r.Proto) {
			v.errf(f+".proto", "unknown protocol %q: use tcp, udp or any", r.Proto)
		}
		if r.Reverse && (r.GuestSocket == "" || r.HostSocket == "") {
			v.errf(f+".reverse", "reverse forwarding needs both guestSocket and hostSocket")
		}
		if val(y.Plain) && guestSize+1 > 10 && !r.Ignore {
			v.warnf(f, "in plain mode each forwarded port is set up over ssh; a range of %d ports is slow", guestSize+1)
		}
	}
}

// NetworkModes maps the names of $LIMA_HOME/_config/networks.yaml to their mode. limactl sets it
// to networks.NameModes (which writes the default networks.yaml on first use, as Lima does); the
// fallback, for tests and other callers, knows the networks every fresh networks.yaml defines.
var NetworkModes = func() (map[string]string, error) {
	return map[string]string{"user-v2": "user-v2", "shared": "shared", "bridged": "bridged", "host": "host"}, nil
}

func (v *validator) validateNetworks(y *LimaYAML) {
	seen := map[string]bool{}
	for i, nw := range y.Networks {
		f := fmt.Sprintf("networks[%d]", i)
		kinds := 0
		if nw.Lima != "" {
			kinds++
		}
		if nw.Socket != "" {
			kinds++
		}
		if val(nw.VZNAT) {
			kinds++
		}
		switch {
		case kinds == 0:
			v.errf(f, "set one of lima, socket or vzNAT")
		case kinds > 1:
			v.errf(f, "lima, socket and vzNAT exclude each other: set only one")
		}
		if nw.Lima != "" {
			modes, err := NetworkModes()
			mode, ok := modes[nw.Lima]
			switch {
			case err != nil:
				v.errf(f+".lima", "cannot read networks.yaml: %v", err)
			case !ok:
				v.errf(f+".lima", "network %q is not defined in $LIMA_HOME/_config/networks.yaml: use one of %s", nw.Lima, strings.Join(sortedKeys(modes), ", "))
			case mode != "user-v2" && Host().OS != "darwin":
				// Host-dependent: limactl validate only warns (see ValidateTemplate).
				v.hostf(f+".lima", "network %q (mode %s) is run by socket_vmnet and needs a macOS host, and this host runs %s: use lima: user-v2 or socket: PATH", nw.Lima, mode, Host().OS)
			}
		}
		if nw.Socket != "" {
			if !filepath.IsAbs(nw.Socket) {
				v.errf(f+".socket", "%q must be an absolute path", nw.Socket)
			} else if st, err := os.Stat(nw.Socket); err == nil && st.Mode()&os.ModeSocket == 0 {
				v.errf(f+".socket", "%q exists but is not a socket", nw.Socket)
			}
		}
		if val(nw.VZNAT) && val(y.VMType) != VZ {
			v.errf(f+".vzNAT", "vzNAT works only with vmType vz: use lima: user-v2 or a socket")
		}
		if nw.MACAddress != "" {
			hw, err := net.ParseMAC(nw.MACAddress)
			if err != nil || len(hw) != 6 {
				v.errf(f+".macAddress", "%q is not a 6-byte MAC address such as 52:55:55:12:34:56", nw.MACAddress)
			}
		}
		switch name := nw.Interface; {
		case len(name) >= 16:
			v.errf(f+".interface", "%q is longer than 15 bytes: use a shorter name", name)
		case strings.ContainsAny(name, " \t\n/"):
			v.errf(f+".interface", "%q must not contain whitespace or '/'", name)
		case name == "eth0":
			v.errf(f+".interface", "eth0 is the built-in user-mode network: choose another name")
		case seen[name]:
			v.errf(f+".interface", "%q is used by an earlier network: names must be unique", name)
		}
		seen[nw.Interface] = true
	}
}
