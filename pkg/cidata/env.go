package cidata

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"sort"
	"strings"

	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/limayaml"
)

// envFile is an ordered KEY=value file that sh can source (values are shell-quoted).
type envFile struct{ b strings.Builder }

func (e *envFile) set(k string, v any) {
	s := fmt.Sprint(v)
	if s != "" {
		s = shellQuote(s)
	}
	fmt.Fprintf(&e.b, "%s=%s\n", k, s)
}

func (e *envFile) bytes() []byte { return []byte(e.b.String()) }

// limaEnv renders lima.env in two parts: the variables that only change with the configuration (they
// go into the instance id) and the ones that may change on every start (the host agent's DNS ports).
func limaEnv(a *Args, hostname string, mounts []Mount, agentDigest string) (stable, perBoot []byte) {
	y := a.Config
	var e envFile
	e.set("LIMA_CIDATA_NAME", a.Name)
	e.set("LIMA_CIDATA_HOSTNAME", hostname)
	e.set("LIMA_CIDATA_USER", deref(y.User.Name))
	e.set("LIMA_CIDATA_UID", deref(y.User.UID))
	e.set("LIMA_CIDATA_COMMENT", deref(y.User.Comment))
	e.set("LIMA_CIDATA_HOME", deref(y.User.Home))
	e.set("LIMA_CIDATA_SHELL", deref(y.User.Shell))
	e.set("LIMA_CIDATA_PASSWORDLESS_SUDO", boolFlag(deref(y.User.PasswordlessSudo)))
	e.set("LIMA_CIDATA_PLAIN", boolFlag(deref(y.Plain)))
	e.set("LIMA_CIDATA_VMTYPE", deref(y.VMType))
	e.set("LIMA_CIDATA_MOUNTTYPE", deref(y.MountType))
	e.set("LIMA_CIDATA_MOUNTS", len(mounts))
	for i, m := range mounts {
		p := fmt.Sprintf("LIMA_CIDATA_MOUNTS_%d_", i)
		e.set(p+"MOUNTPOINT", m.MountPoint)
		e.set(p+"TYPE", m.Type)
		e.set(p+"TAG", m.Tag)
		e.set(p+"OPTIONS", m.Options)
		e.set(p+"WRITABLE", boolFlag(m.Writable))
	}
	// Additional disks (boot.Linux/05-lima-disks.sh). Only set when there are some, so the instance id
	// of an instance without disks does not change.
	if n := len(y.AdditionalDisks); n > 0 {
		e.set("LIMA_CIDATA_DISKS", n)
		for i, d := range y.AdditionalDisks {
			p := fmt.Sprintf("LIMA_CIDATA_DISK_%d_", i)
			e.set(p+"NAME", d.Name)
			e.set(p+"FORMAT", boolFlag(d.Format == nil || *d.Format))
			e.set(p+"FSTYPE", orDefault(d.FSType, "ext4"))
			e.set(p+"FSARGS", strings.Join(d.FSArgs, " "))
		}
	}
	e.set("LIMA_CIDATA_GUEST_INSTALL_PREFIX", orDefault(y.GuestInstallPrefix, "/usr/local"))
	e.set("LIMA_CIDATA_UPGRADE_PACKAGES", boolFlag(deref(y.UpgradePackages)))
	e.set("LIMA_CIDATA_CONTAINERD_USER", boolFlag(deref(y.Containerd.User)))
	e.set("LIMA_CIDATA_CONTAINERD_SYSTEM", boolFlag(deref(y.Containerd.System)))
	archive, archiveName, archiveDigest := "", "", ""
	if a.NerdctlArchive != "" {
		archive = nerdctlArchiveName
		archiveName = archiveDisplayName(a.NerdctlArchiveFile.Location)
		archiveDigest = a.NerdctlArchiveFile.Digest
	}
	e.set("LIMA_CIDATA_CONTAINERD_ARCHIVE", archive)
	if archive != "" {
		e.set("LIMA_CIDATA_CONTAINERD_ARCHIVE_NAME", archiveName)
		e.set("LIMA_CIDATA_CONTAINERD_ARCHIVE_DIGEST", archiveDigest)
	}
	e.set("LIMA_CIDATA_SLIRP_GATEWAY", a.SlirpGateway)
	e.set("LIMA_CIDATA_SLIRP_DNS", a.SlirpDNS)
	e.set("LIMA_CIDATA_SLIRP_IP_ADDRESS", a.SlirpIPAddress)
	e.set("LIMA_CIDATA_HOST_RESOLVER", boolFlag(deref(y.HostResolver.Enabled)))
	e.set("LIMA_CIDATA_ROSETTA_ENABLED", boolFlag(deref(y.VMOpts.VZ.Rosetta.Enabled)))
	e.set("LIMA_CIDATA_ROSETTA_BINFMT", boolFlag(deref(y.VMOpts.VZ.Rosetta.BinFmt)))
	skip := false
	for _, p := range y.Provision {
		if p.Mode == limayaml.ProvisionModeDependency && deref(p.SkipDefaultDependencyResolution) {
			skip = true
		}
	}
	e.set("LIMA_CIDATA_SKIP_DEFAULT_DEPENDENCY_RESOLUTION", boolFlag(skip))
	e.set("LIMA_CIDATA_GUESTAGENT", boolFlag(a.GuestAgentBinary != ""))
	e.set("LIMA_CIDATA_VSOCK_PORT", a.VsockPort)
	e.set("LIMA_CIDATA_VIRTIO_PORT", a.VirtioPort)
	e.set("LIMA_CIDATA_TIMEZONE", deref(y.TimeZone))
	for i, p := range y.Provision {
		switch p.Mode {
		case limayaml.ProvisionModeData:
			pre := fmt.Sprintf("LIMA_CIDATA_DATAFILE_%08d_", i)
			e.set(pre+"PATH", deref(p.Path))
			e.set(pre+"OWNER", orDefault(p.Owner, "root:root"))
			e.set(pre+"PERMISSIONS", orDefault(p.Permissions, "644"))
			e.set(pre+"OVERWRITE", p.Overwrite == nil || *p.Overwrite)
		case limayaml.ProvisionModeYQ:
			pre := fmt.Sprintf("LIMA_CIDATA_YQ_PROVISION_%08d_", i)
			e.set(pre+"PATH", deref(p.Path))
			e.set(pre+"FORMAT", orDefault(p.Format, "auto"))
			e.set(pre+"OWNER", deref(p.Owner))
			e.set(pre+"PERMISSIONS", deref(p.Permissions))
		}
	}
	var b envFile
	b.b.WriteString("# Per boot (not part of the instance id):\n")
	b.set("LIMA_CIDATA_UDP_DNS_LOCAL_PORT", a.UDPDNSLocalPort)
	b.set("LIMA_CIDATA_TCP_DNS_LOCAL_PORT", a.TCPDNSLocalPort)
	// Lets boot.Linux/25-guestagent.sh tell an unchanged guest agent without reading it.
	if agentDigest != "" {
		b.set("LIMA_CIDATA_GUESTAGENT_SHA256", agentDigest)
	}
	return e.bytes(), b.bytes()
}

// paramEnv renders param.env: PARAM_<key>='value', sorted.
func paramEnv(param map[string]string) []byte {
	var e envFile
	for _, k := range sortedKeys(param) {
		e.set("PARAM_"+k, param[k])
	}
	return e.bytes()
}

// etcEnvironment renders the block added to /etc/environment: the propagated proxy variables
// (propagateProxyEnv), overridden by env.
func etcEnvironment(a *Args) []byte {
	vars := map[string]string{}
	if deref(a.Config.PropagateProxyEnv) {
		for k, v := range a.ProxyEnv {
			vars[k] = v
		}
	}
	for k, v := range a.Config.Env {
		vars[k] = v
	}
	var b strings.Builder
	for _, k := range sortedKeys(vars) {
		fmt.Fprintf(&b, "%s=%s\n", k, pamQuote(vars[k]))
	}
	return []byte(b.String())
}

// etcHosts renders the /etc/hosts block: hostResolver.hosts plus host.lima.internal (the gateway).
// A value that names another entry rather than an address follows it; names that end nowhere are left
// to the host agent's DNS server.
func etcHosts(a *Args) []byte {
	hosts := map[string]string{"host.lima.internal": a.SlirpGateway}
	for k, v := range a.Config.HostResolver.Hosts {
		hosts[k] = v
	}
	byIP := map[string][]string{}
	for _, name := range sortedKeys(hosts) {
		v := hosts[name]
		for i := 0; i < 8 && net.ParseIP(v) == nil; i++ {
			next, ok := hosts[v]
			if !ok {
				break
			}
			v = next
		}
		if net.ParseIP(v) != nil {
			byIP[v] = append(byIP[v], name)
		}
	}
	var b strings.Builder
	for _, ip := range sortedKeys(byIP) {
		fmt.Fprintf(&b, "%s %s\n", ip, strings.Join(byIP[ip], " "))
	}
	return []byte(b.String())
}

// proxyVars are the variables propagateProxyEnv copies, in both spellings.
var proxyVars = []string{"ftp_proxy", "http_proxy", "https_proxy", "no_proxy"}

// HostProxyEnv reads the host's proxy variables (both cases; the lowercase one wins) and returns them
// in both spellings, with localhost and 127.0.0.1 in the *_proxy URLs pointed at gateway so the guest
// reaches the host's proxy.
func HostProxyEnv(gateway string) map[string]string {
	knobs := map[string]envknob.Knob{}
	for _, k := range envknob.ProxyVars {
		knobs[k.Name] = k
	}
	return proxyEnv(func(name string) (string, bool) { return knobs[name].Lookup() }, gateway)
}

func proxyEnv(lookup func(string) (string, bool), gateway string) map[string]string {
	out := map[string]string{}
	for _, lower := range proxyVars {
		upper := strings.ToUpper(lower)
		v, ok := lookup(lower)
		if !ok || v == "" {
			v, ok = lookup(upper)
		}
		if !ok || v == "" {
			continue
		}
		if lower != "no_proxy" {
			v = rewriteLocalhost(v, gateway)
		}
		out[lower], out[upper] = v, v
	}
	return out
}

func rewriteLocalhost(v, gateway string) string {
	raw := v
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		return v
	}
	switch u.Hostname() {
	case "localhost", "127.0.0.1", "::1":
	default:
		return v
	}
	host := gateway
	if p := u.Port(); p != "" {
		host = net.JoinHostPort(gateway, p)
	}
	u.Host = host
	s := u.String()
	if !strings.Contains(v, "://") {
		s = strings.TrimPrefix(s, "http://")
	}
	return s
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// shellQuote quotes s for sh, leaving plain words alone.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./:,@%+=") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// pamQuote quotes a value for /etc/environment (pam_env): double quotes when it has blanks or quotes.
func pamQuote(s string) string {
	if !strings.ContainsAny(s, " \t\"'\\#$") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}

// archiveDisplayName is the file name the guest shows for an archive location (in messages and on
// the console): the last element of a URL's path, without its query or fragment (which may hold a
// signed URL's credentials, and the guest is not trusted with them), or of a local path.
func archiveDisplayName(location string) string {
	if u, err := url.Parse(location); err == nil && len(u.Scheme) > 1 && u.Scheme != "file" {
		if b := path.Base(u.Path); b != "/" && b != "." {
			return b
		}
		return u.Host
	}
	loc := strings.TrimPrefix(location, "file://")
	return path.Base(strings.ReplaceAll(loc, "\\", "/"))
}
