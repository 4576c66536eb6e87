package limayaml

import (
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/docker/go-units"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/store/filenames"
)

// Builtin defaults that do not depend on the host.
const (
	DefaultDisk               = "100GiB"
	DefaultGuestInstallPrefix = "/usr/local"
	DefaultUserHome           = "/home/{{.User}}.guest"
	DefaultUserShell          = "/bin/bash"
	DefaultUserComment        = "lima"
	DefaultUserName           = "lima" // when the host user name is not a valid Linux name, or is root
	DefaultRootUID            = 1000   // uid of the guest user when limactl runs as root
	DefaultVideoDisplay       = "none"
	DefaultVNCDisplay         = "127.0.0.1:0,to=9"
	HostLimaInternal          = "host.lima.internal"
	HostLimaInternalIP        = "192.168.5.2"
	GuestIPInSlirp            = "192.168.5.15"
)

// first returns the first non-nil pointer, or a pointer to def.
func first[T any](def T, ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			v := *p
			return &v
		}
	}
	return &def
}

func ptr[T any](v T) *T { return &v }

// validUserName is the set of names useradd accepts without complaint.
var validUserName = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-z_][a-z0-9_-]{0,31}$`)
})

// defaultUser is the guest user name and uid derived from the host user.
func defaultUser() (string, uint32) {
	if Host().UID == 0 {
		return DefaultUserName, DefaultRootUID
	}
	if validUserName().MatchString(Host().User) {
		return Host().User, Host().UID
	}
	return DefaultUserName, Host().UID
}

// DefaultCPUs is min(4, host CPUs).
func DefaultCPUs() int { return max(1, min(4, Host().CPUs)) }

// DefaultMemory is min(4GiB, host memory / 2), spelled like Lima ("4GiB").
func DefaultMemory() string {
	return units.BytesSize(float64(min(int64(4<<30), Host().MemoryBytes/2)))
}

// DefaultMountType is the mount type a driver uses when mountType is unset.
func DefaultMountType(vmType VMType, unsupported []string) MountType {
	switch vmType {
	case VZ:
		return VIRTIOFS
	case WSL2:
		return WSLMount
	}
	if Host().OS == "windows" || slices.Contains(unsupported, NINEP) {
		return REVSSHFS
	}
	return NINEP
}

// InstanceDirAndName derives the instance directory and name from the path of its lima.yaml. A file
// with another name (a template) names the instance after itself, without .yaml.
func InstanceDirAndName(filePath string) (dir, name string) {
	if filePath == "" {
		return "", ""
	}
	dir = filepath.Dir(filePath)
	base := filepath.Base(filePath)
	if base == filenames.LimaYAML {
		return dir, filepath.Base(dir)
	}
	return dir, strings.TrimSuffix(strings.TrimSuffix(base, ".yaml"), ".yml")
}

// FillDefault completes y in place. d is _config/default.yaml and o is _config/override.yaml (either
// may be empty or nil; neither is changed). Scalars take override > lima.yaml > default.yaml > builtin; lists are
// override + lima.yaml + default.yaml; maps merge default, then lima.yaml, then override on top.
// mounts merge on mountPoint and networks on interface. filePath is the lima.yaml path; it names the
// instance. With warn, deprecations are logged.
func FillDefault(y, d, o *LimaYAML, filePath string, warn bool) {
	instDir, instName := InstanceDirAndName(filePath)
	// d and o are read, never changed: work on shallow copies (moveDeprecated writes to them).
	dCopy, oCopy := LimaYAML{}, LimaYAML{}
	if d != nil {
		dCopy = *d
	}
	if o != nil {
		oCopy = *o
	}
	d, o = &dCopy, &oCopy
	for _, l := range []*LimaYAML{d, y, o} {
		moveDeprecated(l, warn)
	}

	y.MinimumLimaVersion = firstOrNil(o.MinimumLimaVersion, y.MinimumLimaVersion, d.MinimumLimaVersion)
	y.VMType = first(QEMU, o.VMType, y.VMType, d.VMType)
	if *y.VMType == "default" || *y.VMType == "" {
		*y.VMType = QEMU // our product rule: qemu on every host unless vmType says otherwise
	}
	y.OS = first(LINUX, o.OS, y.OS, d.OS)
	y.Arch = first("default", o.Arch, y.Arch, d.Arch)
	if *y.Arch == "default" || *y.Arch == "" {
		*y.Arch = Host().Arch
	}
	fillVMOpts(y, d, o)
	y.OSOpts.Windows.VirtioWin = slices.Concat(o.OSOpts.Windows.VirtioWin, y.OSOpts.Windows.VirtioWin, d.OSOpts.Windows.VirtioWin)

	y.Images = slices.Concat(o.Images, y.Images, d.Images)
	for i := range y.Images {
		img := &y.Images[i]
		if img.Arch == "" {
			img.Arch = *y.Arch
		}
		if img.Kernel != nil && img.Kernel.Arch == "" {
			img.Kernel = ptr(*img.Kernel) // do not write into a layer's image
			img.Kernel.Arch = img.Arch
		}
		if img.Initrd != nil && img.Initrd.Arch == "" {
			img.Initrd = ptr(*img.Initrd)
			img.Initrd.Arch = img.Arch
		}
	}

	y.CPUs = firstOrNil(o.CPUs, y.CPUs, d.CPUs)
	if y.CPUs == nil || *y.CPUs == 0 {
		y.CPUs = ptr(DefaultCPUs())
	}
	y.Memory = firstNonEmpty(DefaultMemory(), o.Memory, y.Memory, d.Memory)
	y.Disk = firstNonEmpty(DefaultDisk, o.Disk, y.Disk, d.Disk)
	y.AdditionalDisks = slices.Concat(o.AdditionalDisks, y.AdditionalDisks, d.AdditionalDisks)

	y.Param = mergeMaps(d.Param, y.Param, o.Param)
	fillUser(y, d, o, instDir, instName)

	y.MountTypesUnsupported = uniq(slices.Concat(o.MountTypesUnsupported, y.MountTypesUnsupported, d.MountTypesUnsupported))
	y.MountType = first("default", o.MountType, y.MountType, d.MountType)
	if *y.MountType == "default" || *y.MountType == "" {
		*y.MountType = DefaultMountType(*y.VMType, y.MountTypesUnsupported)
		if *y.VMType == QEMU && createdBefore(instDir, "1.0.0") {
			*y.MountType = REVSSHFS // the default before Lima 1.0; keep existing instances working
		}
	}
	y.MountInotify = first(false, o.MountInotify, y.MountInotify, d.MountInotify)
	fillMounts(y, d, o, instDir, instName)

	localPort := 0
	if instName == "default" && createdBefore(instDir, "2.0.0") {
		localPort = 60022 // the fixed port instance "default" had before Lima 2.0
	}
	y.SSH.LocalPort = first(localPort, o.SSH.LocalPort, y.SSH.LocalPort, d.SSH.LocalPort)
	y.SSH.LoadDotSSHPubKeys = first(false, o.SSH.LoadDotSSHPubKeys, y.SSH.LoadDotSSHPubKeys, d.SSH.LoadDotSSHPubKeys)
	y.SSH.ForwardAgent = first(false, o.SSH.ForwardAgent, y.SSH.ForwardAgent, d.SSH.ForwardAgent)
	y.SSH.ForwardX11 = first(false, o.SSH.ForwardX11, y.SSH.ForwardX11, d.SSH.ForwardX11)
	y.SSH.ForwardX11Trusted = first(false, o.SSH.ForwardX11Trusted, y.SSH.ForwardX11Trusted, d.SSH.ForwardX11Trusted)
	y.SSH.OverVsock = first(false, o.SSH.OverVsock, y.SSH.OverVsock, d.SSH.OverVsock)

	y.Firmware.LegacyBIOS = first(false, o.Firmware.LegacyBIOS, y.Firmware.LegacyBIOS, d.Firmware.LegacyBIOS)
	y.Firmware.Images = slices.Concat(o.Firmware.Images, y.Firmware.Images, d.Firmware.Images)
	for i := range y.Firmware.Images {
		if y.Firmware.Images[i].Arch == "" {
			y.Firmware.Images[i].Arch = *y.Arch
		}
	}
	y.Audio.Device = first("", o.Audio.Device, y.Audio.Device, d.Audio.Device)
	y.Audio.Interface = first("", o.Audio.Interface, y.Audio.Interface, d.Audio.Interface)
	y.Video.Display = first(DefaultVideoDisplay, o.Video.Display, y.Video.Display, d.Video.Display)
	y.Video.VNC.Display = first(DefaultVNCDisplay, o.Video.VNC.Display, y.Video.VNC.Display, d.Video.VNC.Display)

	y.UpgradePackages = first(false, o.UpgradePackages, y.UpgradePackages, d.UpgradePackages)
	// Containerd, as Lima: rootless containerd for the guest user on x86_64 and aarch64 Linux guests
	// (no nerdctl-full release exists for the other architectures), from the pinned nerdctl-full
	// archives unless the YAML lists its own (which replace them). See docs/containerd.md.
	y.Containerd.System = first(false, o.Containerd.System, y.Containerd.System, d.Containerd.System)
	y.Containerd.User = first(*y.OS == LINUX && (*y.Arch == X8664 || *y.Arch == AARCH64),
		o.Containerd.User, y.Containerd.User, d.Containerd.User)
	if *y.OS != LINUX && y.Containerd.Enabled() {
		// The archives and the boot script that installs them are for Linux guests only.
		logrus.Warnf("containerd is only available in Linux guests, not with `os: %s`; turning it off", *y.OS)
		y.Containerd.System, y.Containerd.User = ptr(false), ptr(false)
	}
	y.Containerd.Archives = slices.Concat(o.Containerd.Archives, y.Containerd.Archives, d.Containerd.Archives)
	if len(y.Containerd.Archives) == 0 {
		y.Containerd.Archives = DefaultContainerdArchives()
	}
	for i := range y.Containerd.Archives {
		if y.Containerd.Archives[i].Arch == "" {
			y.Containerd.Archives[i].Arch = *y.Arch
		}
	}
	y.GuestInstallPrefix = first(DefaultGuestInstallPrefix, o.GuestInstallPrefix, y.GuestInstallPrefix, d.GuestInstallPrefix)

	guest := guestTemplateData(y, instName)
	host := hostTemplateData(instDir, instName, y.Param)
	fillProvision(y, d, o, guest)
	fillProbes(y, d, o, guest)
	y.PortForwards = slices.Concat(o.PortForwards, y.PortForwards, d.PortForwards)
	for i := range y.PortForwards {
		fillPortForward(&y.PortForwards[i], instDir, guest, host)
	}
	y.CopyToHost = slices.Concat(o.CopyToHost, y.CopyToHost, d.CopyToHost)
	for i := range y.CopyToHost {
		c := &y.CopyToHost[i]
		c.GuestFile = expand("copyToHost.guest", c.GuestFile, guest)
		c.HostFile = expand("copyToHost.host", c.HostFile, host)
	}
	if y.Message == "" {
		y.Message = d.Message
	}
	if o.Message != "" {
		y.Message = o.Message
	}
	fillNetworks(y, d, o, filePath)

	y.Env = addUpperProxyEnv(mergeMaps(d.Env, y.Env, o.Env))
	switch {
	case len(o.DNS) > 0:
		y.DNS = slices.Clone(o.DNS)
	case len(y.DNS) > 0:
	default:
		y.DNS = slices.Clone(d.DNS)
	}
	y.HostResolver.Enabled = first(true, o.HostResolver.Enabled, y.HostResolver.Enabled, d.HostResolver.Enabled)
	y.HostResolver.IPv6 = first(false, o.HostResolver.IPv6, y.HostResolver.IPv6, d.HostResolver.IPv6)
	y.HostResolver.Hosts = mergeMaps(d.HostResolver.Hosts, y.HostResolver.Hosts, o.HostResolver.Hosts)
	if _, ok := y.HostResolver.Hosts[HostLimaInternal]; !ok {
		y.HostResolver.Hosts[HostLimaInternal] = HostLimaInternalIP
	}
	if instName != "" {
		if _, ok := y.HostResolver.Hosts[Hostname(instName)]; !ok {
			y.HostResolver.Hosts[Hostname(instName)] = GuestIPInSlirp
		}
	}
	y.PropagateProxyEnv = first(true, o.PropagateProxyEnv, y.PropagateProxyEnv, d.PropagateProxyEnv)
	y.CACertificates.RemoveDefaults = first(false, o.CACertificates.RemoveDefaults, y.CACertificates.RemoveDefaults, d.CACertificates.RemoveDefaults)
	y.CACertificates.Files = uniq(slices.Concat(d.CACertificates.Files, y.CACertificates.Files, o.CACertificates.Files))
	y.CACertificates.Certs = uniq(slices.Concat(d.CACertificates.Certs, y.CACertificates.Certs, o.CACertificates.Certs))

	y.Plain = first(false, o.Plain, y.Plain, d.Plain)
	y.TimeZone = first(Host().TimeZone, o.TimeZone, y.TimeZone, d.TimeZone)
	y.NestedVirtualization = first(false, o.NestedVirtualization, y.NestedVirtualization, d.NestedVirtualization)
	y.TPM = first(false, o.TPM, y.TPM, d.TPM)
	fixUpForPlainMode(y)
}

func firstOrNil[T any](ps ...*T) *T {
	for _, p := range ps {
		if p != nil {
			v := *p
			return &v
		}
	}
	return nil
}

// firstNonEmpty is first for strings where "" also means unset.
func firstNonEmpty(def string, ps ...*string) *string {
	for _, p := range ps {
		if p != nil && *p != "" {
			return ptr(*p)
		}
	}
	return &def
}

// mergeMaps copies the maps in order, later ones winning. The result is never nil.
func mergeMaps[V any](ms ...map[string]V) map[string]V {
	out := map[string]V{}
	for _, m := range ms {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func uniq(list []string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// addUpperProxyEnv adds HTTP_PROXY for http_proxy and so on, unless the uppercase name is set.
func addUpperProxyEnv(env map[string]string) map[string]string {
	for k, v := range env {
		if strings.HasSuffix(k, "_proxy") && k == strings.ToLower(k) {
			if _, ok := env[strings.ToUpper(k)]; !ok {
				env[strings.ToUpper(k)] = v
			}
		}
	}
	return env
}

// moveDeprecated moves the top-level cpuType and rosetta into vmOpts, where they live now. A value
// already in vmOpts wins.
func moveDeprecated(l *LimaYAML, warn bool) {
	if len(l.CPUType) > 0 {
		if warn {
			logrus.Warn("field `cpuType` is deprecated; move it to `vmOpts.qemu.cpuType`")
		}
		l.VMOpts.QEMU.CPUType = mergeMaps(l.VMOpts.QEMU.CPUType) // a copy: the caller's map stays as it was
		for arch, v := range l.CPUType {
			if _, ok := l.VMOpts.QEMU.CPUType[arch]; !ok {
				l.VMOpts.QEMU.CPUType[arch] = v
			}
		}
		l.CPUType = nil
	}
	if l.Rosetta.Enabled != nil || l.Rosetta.BinFmt != nil {
		if warn {
			logrus.Warn("field `rosetta` is deprecated; move it to `vmOpts.vz.rosetta`")
		}
		if l.VMOpts.VZ.Rosetta.Enabled == nil {
			l.VMOpts.VZ.Rosetta.Enabled = l.Rosetta.Enabled
		}
		if l.VMOpts.VZ.Rosetta.BinFmt == nil {
			l.VMOpts.VZ.Rosetta.BinFmt = l.Rosetta.BinFmt
		}
		l.Rosetta = Rosetta{}
	}
}

func fillVMOpts(y, d, o *LimaYAML) {
	q := &y.VMOpts.QEMU
	q.MinimumVersion = firstOrNil(o.VMOpts.QEMU.MinimumVersion, q.MinimumVersion, d.VMOpts.QEMU.MinimumVersion)
	if cpu := mergeMaps(d.VMOpts.QEMU.CPUType, q.CPUType, o.VMOpts.QEMU.CPUType); len(cpu) > 0 {
		q.CPUType = cpu
	} else {
		q.CPUType = nil
	}
	v := &y.VMOpts.VZ
	v.DiskImageFormat = firstOrNil(o.VMOpts.VZ.DiskImageFormat, v.DiskImageFormat, d.VMOpts.VZ.DiskImageFormat)
	if v.DiskImageFormat == nil && *y.VMType == VZ {
		v.DiskImageFormat = ptr("raw")
	}
	v.Rosetta.Enabled = first(false, o.VMOpts.VZ.Rosetta.Enabled, v.Rosetta.Enabled, d.VMOpts.VZ.Rosetta.Enabled)
	v.Rosetta.BinFmt = first(false, o.VMOpts.VZ.Rosetta.BinFmt, v.Rosetta.BinFmt, d.VMOpts.VZ.Rosetta.BinFmt)
}

func fillUser(y, d, o *LimaYAML, instDir, instName string) {
	name, uid := defaultUser()
	home, shell, sudo := DefaultUserHome, DefaultUserShell, true
	if createdBefore(instDir, "2.0.0") {
		home = "/home/{{.User}}.linux" // the default before Lima 2.0; the guest's home stays where it is
	}
	switch *y.OS {
	case DARWIN:
		home, shell, sudo = "/Users/{{.User}}", "/bin/zsh", false
	case FREEBSD:
		shell = "/bin/sh"
	case WINDOWS:
		shell = "cmd.exe"
	}
	u := &y.User
	u.Name = first(name, o.User.Name, u.Name, d.User.Name)
	u.Comment = first(DefaultUserComment, o.User.Comment, u.Comment, d.User.Comment)
	u.Home = first(home, o.User.Home, u.Home, d.User.Home)
	u.Shell = first(shell, o.User.Shell, u.Shell, d.User.Shell)
	u.UID = first(uid, o.User.UID, u.UID, d.User.UID)
	u.PasswordlessSudo = first(sudo, o.User.PasswordlessSudo, u.PasswordlessSudo, d.User.PasswordlessSudo)
	u.Home = ptr(expand("user.home", *u.Home, guestTemplateData(y, instName)))
}

// fixUpForPlainMode turns off what plain mode promises not to do: mounts, containerd, non-static
// port forwards, Rosetta and the timezone.
func fixUpForPlainMode(y *LimaYAML) {
	if !*y.Plain {
		return
	}
	y.Mounts = nil
	y.Containerd.System = ptr(false)
	y.Containerd.User = ptr(false)
	y.VMOpts.VZ.Rosetta.Enabled = ptr(false)
	y.VMOpts.VZ.Rosetta.BinFmt = ptr(false)
	y.TimeZone = ptr("")
	y.PortForwards = slices.DeleteFunc(y.PortForwards, func(p PortForward) bool { return !p.Static })
}
