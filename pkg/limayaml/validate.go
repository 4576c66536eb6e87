package limayaml

import (
	"fmt"
	"net"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"github.com/docker/go-units"
	"github.com/sirupsen/logrus"
)

// Version is the Lima version limactl claims compatibility with; minimumLimaVersion is checked
// against it. The main package may set it from its build version.
var Version = "2.2.0"

// validator collects every problem so the user sees them all at once.
type validator struct {
	errs ValidationErrors
	warn bool
	// anyHost is set by ValidateTemplate: what depends on this host only is a warning.
	anyHost bool
}

func (v *validator) errf(field, format string, args ...any) {
	v.errs = append(v.errs, &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (v *validator) warnf(field, format string, args ...any) {
	if v.warn {
		logrus.Warnf("field %#q: %s", field, fmt.Sprintf(format, args...))
	}
}

func val[T any](p *T) T {
	if p == nil {
		var zero T
		return zero
	}
	return *p
}

// Validate checks a config completed by FillDefault against Lima's rules and the rules of the
// chosen vmType on this Host. Every problem is returned, as ValidationErrors: each FieldError names
// its field and says what to do (Locate adds the file, line and column). With warn, questionable
// settings are logged as warnings.
func Validate(y *LimaYAML, warn bool) error {
	return validate(y, &validator{warn: warn})
}

func validate(y *LimaYAML, v *validator) error {
	if len(y.Base) > 0 {
		v.errf("base", "base templates must be merged before the config is used (limactl create and start do it); remove base or create the instance from this template")
	}
	if y.MinimumLimaVersion != nil {
		if !isSemver(*y.MinimumLimaVersion) {
			v.errf("minimumLimaVersion", "%q is not a semantic version such as 2.0.0", *y.MinimumLimaVersion)
		} else if compareSemver(*y.MinimumLimaVersion, Version) > 0 {
			v.errf("minimumLimaVersion", "this template needs Lima %s, and limactl is compatible with Lima %s: upgrade limactl", *y.MinimumLimaVersion, Version)
		}
	}
	if mv := y.VMOpts.QEMU.MinimumVersion; mv != nil && !isSemver(*mv) {
		v.errf("vmOpts.qemu.minimumVersion", "%q is not a semantic version such as 8.2.1", *mv)
	}
	for arch := range y.VMOpts.QEMU.CPUType {
		if !slices.Contains(ArchTypes, arch) {
			v.errf("vmOpts.qemu.cpuType."+arch, "unknown arch %q: use one of %s", arch, strings.Join(ArchTypes, ", "))
		}
	}
	if f := y.VMOpts.VZ.DiskImageFormat; f != nil && *f != "raw" && *f != "asif" {
		v.errf("vmOpts.vz.diskImageFormat", "must be raw or asif, got %q", *f)
	}
	osName, arch := val(y.OS), val(y.Arch)
	if !slices.Contains(OSTypes, osName) {
		v.errf("os", "unknown os %q: use one of %s", osName, strings.Join(OSTypes, ", "))
	}
	if !slices.Contains(ArchTypes, arch) {
		v.errf("arch", "unknown arch %q: use one of %s (or default)", arch, strings.Join(ArchTypes, ", "))
	}
	switch arch {
	case RISCV64, ARMV7L, S390X, PPC64LE:
		v.warnf("arch", "%s guests are experimental", arch)
	}
	if osName == WINDOWS {
		v.warnf("os", "Windows guests are experimental")
		if val(y.VMType) != QEMU {
			v.errf("vmType", "Windows guests run only with vmType qemu, got %q", val(y.VMType))
		}
		if arch != X8664 && arch != AARCH64 {
			v.errf("arch", "Windows guests need arch x86_64 or aarch64, got %q", arch)
		}
	}
	v.validateUser(y)
	if len(y.Images) == 0 {
		v.errf("images", "at least one image is required: add an entry with location, arch and digest")
	}
	for i, img := range y.Images {
		f := fmt.Sprintf("images[%d]", i)
		v.validateFile(f, img.File)
		if img.Kernel != nil {
			v.validateFile(f+".kernel", img.Kernel.File)
			if img.Kernel.Arch != img.Arch {
				v.errf(f+".kernel.arch", "%q differs from the image arch %q: they must match", img.Kernel.Arch, img.Arch)
			}
		}
		if img.Initrd != nil {
			v.validateFile(f+".initrd", *img.Initrd)
			if img.Initrd.Arch != img.Arch {
				v.errf(f+".initrd.arch", "%q differs from the image arch %q: they must match", img.Initrd.Arch, img.Arch)
			}
		}
	}
	for i, fw := range y.Firmware.Images {
		f := fmt.Sprintf("firmware.images[%d]", i)
		v.validateFile(f, fw.File)
		if fw.VMType != "" && !slices.Contains(VMTypes, fw.VMType) {
			v.errf(f+".vmType", "unknown vmType %q: use one of %s", fw.VMType, strings.Join(VMTypes, ", "))
		}
	}
	if y.Containerd.Enabled() && y.Arch != nil && len(ArchivesFor(y.Containerd.Archives, *y.Arch)) == 0 {
		v.errf("containerd", "containerd is enabled but containerd.archives has no nerdctl-full archive for arch %s: add one, or set containerd.system and containerd.user to false", *y.Arch)
	}
	for i, a := range y.Containerd.Archives {
		field := fmt.Sprintf("containerd.archives[%d]", i)
		v.validateFile(field, a)
		// The host agent looks for the archive again at every start, from the instance directory.
		if p, err := expandLocalPath(a.Location); a.Location != "" && !isURL(a.Location) && err == nil && !filepath.IsAbs(p) {
			v.errf(field+".location", "%q is a relative path: use an absolute path, ~/..., or a URL", a.Location)
		}
	}
	for i, a := range y.OSOpts.Windows.VirtioWin {
		v.validateFile(fmt.Sprintf("osOpts.Windows.virtioWin[%d]", i), a)
	}
	if y.CPUs == nil || *y.CPUs < 1 {
		v.errf("cpus", "must be at least 1, got %d", val(y.CPUs))
	}
	v.validateSize("memory", y.Memory)
	v.validateSize("disk", y.Disk)
	seenDisk := map[string]bool{}
	for i, d := range y.AdditionalDisks {
		f := fmt.Sprintf("additionalDisks[%d].name", i)
		if !validIdentifier(d.Name) {
			v.errf(f, "%q is not a valid disk name: use letters and digits, optionally joined by single '.', '_' or '-'", d.Name)
		}
		if seenDisk[d.Name] {
			v.errf(f, "disk %q is listed twice: list it once", d.Name)
		}
		seenDisk[d.Name] = true
	}
	v.validateMounts(y)
	if p := val(y.SSH.LocalPort); p != 0 {
		v.validatePort("ssh.localPort", p)
	}
	mt := val(y.MountType)
	if !slices.Contains(MountTypes, mt) {
		v.errf("mountType", "unknown mount type %q: use one of %s", mt, strings.Join(MountTypes, ", "))
	} else if slices.Contains(y.MountTypesUnsupported, mt) {
		v.errf("mountType", "%q is listed in mountTypesUnsupported (the guest kernel lacks it): choose another mountType", mt)
	}
	if val(y.MountInotify) {
		v.warnf("mountInotify", "mountInotify is experimental")
	}
	v.validateProvision(y)
	v.validateProbes(y)
	v.validatePortForwards(y)
	for i, c := range y.CopyToHost {
		if !path.IsAbs(c.GuestFile) {
			v.errf(fmt.Sprintf("copyToHost[%d].guest", i), "%q must be an absolute path in the guest", c.GuestFile)
		}
		if !filepath.IsAbs(c.HostFile) {
			v.errf(fmt.Sprintf("copyToHost[%d].host", i), "%q must be an absolute path on the host", c.HostFile)
		}
	}
	if len(y.DNS) > 0 && val(y.HostResolver.Enabled) {
		v.errf("dns", "dns is used only when hostResolver is disabled: set hostResolver.enabled: false or remove dns")
	}
	for i, d := range y.DNS {
		if net.ParseIP(d) == nil {
			v.errf(fmt.Sprintf("dns[%d]", i), "%q is not an IP address", d)
		}
	}
	v.validateNetworks(y)
	v.validateParams(y)
	if y.Audio.Interface != nil && !slices.Contains([]string{"", "hda", "virtio"}, *y.Audio.Interface) {
		v.errf("audio.interface", "must be hda or virtio (or empty), got %q", *y.Audio.Interface)
	}
	if val(y.Audio.Device) != "" {
		v.warnf("audio.device", "audio is experimental")
	}
	if strings.HasPrefix(val(y.Video.Display), "vnc") {
		v.warnf("video.display", "the vnc display is experimental")
	}
	if val(y.TPM) && arch != X8664 && arch != AARCH64 {
		v.errf("tpm", "a TPM is supported only for x86_64 and aarch64 guests, not %s: set tpm: false", arch)
	}
	v.validateVMType(y)
	return v.errs.orNil()
}

func (v *validator) validateUser(y *LimaYAML) {
	u := y.User
	if name := val(u.Name); !validUserName().MatchString(name) {
		v.errf("user.name", "%q is not a valid Linux user name: use lowercase letters, digits, '_' and '-', starting with a letter or '_', at most 32 characters", name)
	}
	shell := val(u.Shell)
	if val(y.OS) == WINDOWS {
		if !slices.Contains([]string{"cmd.exe", "powershell.exe", "pwsh.exe"}, shell) {
			v.errf("user.shell", "a Windows guest's shell must be cmd.exe, powershell.exe or pwsh.exe, got %q", shell)
		}
	} else {
		if !path.IsAbs(shell) {
			v.errf("user.shell", "%q must be an absolute path such as /bin/bash", shell)
		}
		if home := val(u.Home); !path.IsAbs(home) {
			v.errf("user.home", "%q must be an absolute path in the guest", home)
		}
	}
	sudo := val(u.PasswordlessSudo)
	switch {
	case val(y.OS) == DARWIN && sudo:
		v.errf("user.passwordlessSudo", "macOS guests do not support passwordless sudo: set it to false")
	case val(y.VMType) == WSL2 && !sudo:
		v.errf("user.passwordlessSudo", "WSL2 needs passwordless sudo: set it to true")
	case val(y.OS) != DARWIN && !sudo && !val(y.Plain):
		v.errf("user.passwordlessSudo", "false is allowed only with plain: true (limactl needs sudo to set up the guest): set it to true or enable plain mode")
	}
	if !sudo && val(y.OS) != DARWIN {
		v.warnf("user.passwordlessSudo", "passwordlessSudo: false is experimental")
		if len(y.Param) > 0 {
			v.warnf("param", "params combined with passwordlessSudo: false are experimental")
		}
	}
}

// validateFile checks a downloadable file: a location, an arch from the list, a valid digest.
func (v *validator) validateFile(field string, f File) {
	if f.Location == "" {
		v.errf(field+".location", "is empty: give a URL or a local path")
	} else if !isURL(f.Location) {
		if _, err := expandLocalPath(f.Location); err != nil {
			v.errf(field+".location", "%v", err)
		}
	}
	if !slices.Contains(ArchTypes, f.Arch) {
		v.errf(field+".arch", "unknown arch %q: use one of %s", f.Arch, strings.Join(ArchTypes, ", "))
	}
	if f.Digest != "" {
		if err := validateDigest(f.Digest); err != nil {
			v.errf(field+".digest", "%v", err)
		}
	}
}

func isURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && len(u.Scheme) > 1 && u.Scheme != "file"
}

// expandLocalPath expands "~" and "~/..." and file:// URLs; "~user" cannot be expanded.
func expandLocalPath(p string) (string, error) {
	p = strings.TrimPrefix(p, "file://")
	if strings.HasPrefix(p, "~") && p != "~" && !strings.HasPrefix(p, "~/") {
		return "", fmt.Errorf("cannot expand %q: only ~ and ~/ are supported; write the full path", p)
	}
	return expandTilde(p), nil
}

var digestHexLen = map[string]int{"sha256": 64, "sha384": 96, "sha512": 128}

func validateDigest(d string) error {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return fmt.Errorf("%q is not a digest: write ALGORITHM:HEX, e.g. sha256:<64 hex digits>", d)
	}
	n, known := digestHexLen[alg]
	if !known {
		return fmt.Errorf("unsupported digest algorithm %q: use sha256, sha384 or sha512", alg)
	}
	if len(hex) != n || strings.Trim(hex, "0123456789abcdef") != "" {
		return fmt.Errorf("%q is not a valid %s digest: it needs %d lowercase hex digits", d, alg, n)
	}
	return nil
}

func (v *validator) validateSize(field string, s *string) {
	if s == nil {
		v.errf(field, "is not set")
		return
	}
	n, err := units.RAMInBytes(*s)
	if err != nil {
		v.errf(field, "cannot parse %q as a size: write it like 4GiB or 512MiB", *s)
	} else if n <= 0 {
		v.errf(field, "must be greater than zero, got %q", *s)
	}
}

func (v *validator) validatePort(field string, port int) {
	switch {
	case port < 0:
		v.errf(field, "must be a port from 1 to 65535, got %d", port)
	case port == 0:
		v.errf(field, "must be set to a port from 1 to 65535")
	case port == 22:
		v.errf(field, "cannot be 22 (it is reserved for ssh): choose another port")
	case port > 65535:
		v.errf(field, "must be a port from 1 to 65535, got %d", port)
	}
}

var identifierRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*$`)
})

func validIdentifier(s string) bool { return identifierRE().MatchString(s) }

var paramNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]*$`)
})

func (v *validator) validateParams(y *LimaYAML) {
	for _, k := range sortedKeys(y.Param) {
		if !paramNameRE().MatchString(k) {
			v.errf("param."+k, "%q is not a valid param name: start with a letter, then letters, digits or '_'", k)
		}
		for _, r := range y.Param[k] {
			if !unicode.IsPrint(r) && r != '\t' && r != ' ' {
				v.errf("param."+k, "the value holds the non-printable character %q: remove it", r)
				break
			}
		}
	}
}

var semverRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$`)
})

func isSemver(s string) bool { return semverRE().MatchString(s) }

// compareSemver compares two semantic versions by major, minor, patch, then a release sorts after
// its pre-releases.
func compareSemver(a, b string) int {
	ma, mb := semverRE().FindStringSubmatch(a), semverRE().FindStringSubmatch(b)
	if ma == nil || mb == nil {
		return strings.Compare(a, b)
	}
	for i := 1; i <= 3; i++ {
		x, _ := strconv.Atoi(ma[i])
		y, _ := strconv.Atoi(mb[i])
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	switch {
	case ma[4] == mb[4]:
		return 0
	case ma[4] == "":
		return 1
	case mb[4] == "":
		return -1
	}
	return strings.Compare(ma[4], mb[4])
}
