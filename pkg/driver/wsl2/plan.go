package wsl2

import (
	"fmt"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// Exe is the program every invocation runs. It is looked up on PATH (C:\Windows\System32 on a real
// host; the fake's directory first in tests).
const Exe = "wsl.exe"

// UTF8Env asks wsl.exe (WSL 0.64 and later) to write its own messages in UTF-8 instead of UTF-16LE.
// Older versions ignore it, so the output is decoded either way (DecodeOutput).
const UTF8Env = "WSL_UTF8=1"

// CIDataMount is where the first-boot script mounts the cidata directory inside the distro, the same
// place cloud-init-based drivers mount the cidata volume, so boot.sh finds its files.
const CIDataMount = "/mnt/lima-cidata"

// keepAliveScript holds the distro up: WSL stops a distro soon after its last process exits. A shell
// loop rather than `sleep infinity`, which busybox's sleep does not accept everywhere.
const keepAliveScript = "while :; do sleep 3600; done"

// guestIPScript prints eth0's IPv4 address; hostname -I is the fallback for images without iproute2.
const guestIPScript = "ip -4 -o addr show eth0 2>/dev/null || hostname -I"

// Invocation is one run of wsl.exe.
type Invocation struct {
	// Args are the arguments after wsl.exe.
	Args []string
	// Env is added to the inherited environment, as KEY=VALUE.
	Env []string
	// Stdin is written to the program's standard input; nil means none.
	Stdin []byte
	// Guest is true when stdout is the output of a command run in the distro (its own bytes,
	// normally UTF-8) rather than wsl.exe's own messages.
	Guest bool
}

// String renders the invocation as a command line for logs and golden files: env, wsl.exe and the
// arguments, each quoted when it holds a space or a quote. Stdin is summarised by its size.
func (inv Invocation) String() string {
	parts := append([]string{}, inv.Env...)
	parts = append(parts, Exe)
	for _, a := range inv.Args {
		parts = append(parts, quoteForLog(a))
	}
	s := strings.Join(parts, " ")
	if inv.Stdin != nil {
		s += fmt.Sprintf(" <stdin: %d bytes>", len(inv.Stdin))
	}
	return s
}

func quoteForLog(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\n\"'\\$;&|<>*?") {
		return s
	}
	return `'` + strings.ReplaceAll(s, `'`, `'\''`) + `'`
}

// DistroName is the WSL distribution name of instance name: "lima-" + name.
func DistroName(name string) string { return "lima-" + name }

var distroNameRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
})

// ValidDistroName reports whether wsl.exe accepts name as a distribution name without quoting
// trouble: letters, digits, '.', '_' and '-'.
func ValidDistroName(name string) bool { return distroNameRE().MatchString(name) }

// Mount is one host folder made visible at a guest path. Host drives are already mounted by WSL at
// /mnt/<drive>, so a mount is a bind mount of Source onto Target, or nothing when they are equal.
type Mount struct {
	Source   string // WSL path of the host folder, e.g. /mnt/c/Users/me
	Target   string // guest mount point
	Writable bool
}

// Plan is everything the driver runs for one instance, derived from driver.Config without I/O.
type Plan struct {
	// Distro is the WSL distribution name, DistroName(instance name).
	Distro string
	// InstanceDir is where wsl.exe --import keeps the distro's ext4.vhdx.
	InstanceDir string
	// RootFS is the tar root filesystem that --import reads (driver.Config.BaseImagePath).
	RootFS string
	// CIDataDir is the host folder holding the cidata files (InstanceDir/cidata), and CIDataWSL the
	// same folder as the distro sees it.
	CIDataDir, CIDataWSL string
	// SerialLogWSL is the instance's serial.log as the distro sees it; the boot script's output is
	// appended to it, where the host agent reads the other drivers' console.
	SerialLogWSL string
	// Mounts are the host folders to bind-mount in the distro.
	Mounts []Mount
}

// NewPlan derives the plan of cfg. The paths in cfg are Windows paths on a real host; a path that
// WindowsToWSLPath cannot translate (not on a drive letter) is an ErrInvalidConfig error.
func NewPlan(cfg driver.Config) (Plan, error) { return NewPlanWith(cfg, nil) }

// NewPlanWith is NewPlan with another translation of host paths into the distro's view; nil means
// WindowsToWSLPath.
func NewPlanWith(cfg driver.Config, toWSL func(string) (string, error)) (Plan, error) {
	if toWSL == nil {
		toWSL = WindowsToWSLPath
	}
	distro := DistroName(cfg.Name)
	if cfg.Name == "" || !ValidDistroName(distro) {
		return Plan{}, fmt.Errorf("wsl2: instance name %q cannot be a WSL distribution name (%s): use letters, digits, '.', '_' and '-': %w",
			cfg.Name, distro, driver.ErrInvalidConfig)
	}
	p := Plan{
		Distro:      distro,
		InstanceDir: cfg.InstanceDir,
		RootFS:      cfg.BaseImagePath(),
		CIDataDir:   filepath.Join(cfg.InstanceDir, filenames.CIDataISODir),
	}
	var err error
	if p.CIDataWSL, err = toWSL(p.CIDataDir); err != nil {
		return Plan{}, fmt.Errorf("wsl2: the instance directory must be on a drive the distro sees under /mnt (set LIMA_HOME to a folder on a local drive): %w", err)
	}
	if p.SerialLogWSL, err = toWSL(filepath.Join(cfg.InstanceDir, filenames.SerialLog)); err != nil {
		return Plan{}, err
	}
	if cfg.Config != nil {
		for i, m := range cfg.Config.Mounts {
			src, err := toWSL(m.Location)
			if err != nil {
				return Plan{}, fmt.Errorf("wsl2: mounts[%d].location: %w", i, err)
			}
			target := src
			if m.MountPoint != nil && *m.MountPoint != "" {
				target = path.Clean(*m.MountPoint)
			}
			p.Mounts = append(p.Mounts, Mount{Source: src, Target: target, Writable: m.Writable != nil && *m.Writable})
		}
	}
	return p, nil
}

func wsl(args ...string) Invocation { return Invocation{Args: args, Env: []string{UTF8Env}} }

// inDistro runs argv in the distro as root, without the login shell (--exec), so the arguments
// reach the program as they are.
func (p Plan) inDistro(argv ...string) Invocation {
	inv := wsl(append([]string{"--distribution", p.Distro, "--user", "root", "--exec"}, argv...)...)
	inv.Guest = true
	return inv
}

// Import registers the distro from the root filesystem, keeping its disk in the instance directory.
func (p Plan) Import() Invocation {
	return wsl("--import", p.Distro, p.InstanceDir, p.RootFS, "--version", "2")
}

// List asks for every distro with its state and WSL version (ParseList reads it).
func (p Plan) List() Invocation { return wsl("--list", "--verbose") }

// ListRunning asks for the names of the running distros; the fallback when `--list --verbose`
// prints states in a language ParseList does not know.
func (p Plan) ListRunning() Invocation { return wsl("--list", "--running", "--quiet") }

// KeepAlive is the long-running process that keeps the distro up while the instance runs.
func (p Plan) KeepAlive() Invocation { return p.inDistro("/bin/sh", "-c", keepAliveScript) }

// Boot launches the boot script (BootScript) in the background in the distro and returns at once
// (BootLauncher). The script travels on stdin, so that no quoting layer (Windows command line,
// wsl.exe) touches it.
func (p Plan) Boot() Invocation {
	inv := p.inDistro("/bin/sh", "-s")
	inv.Stdin = []byte(p.BootLauncher())
	return inv
}

// GuestIP prints the distro's address (ParseGuestIP reads it).
func (p Plan) GuestIP() Invocation { return p.inDistro("/bin/sh", "-c", guestIPScript) }

// Sync flushes the guest's file systems before Terminate; WSL has no graceful power-off.
func (p Plan) Sync() Invocation { return p.inDistro("/bin/sync") }

// Terminate stops this distro only. Never `--shutdown`: it stops every distro of the user and the
// WSL2 VM itself.
func (p Plan) Terminate() Invocation { return wsl("--terminate", p.Distro) }

// Unregister removes the distro and its disk (ext4.vhdx in the instance directory).
func (p Plan) Unregister() Invocation { return wsl("--unregister", p.Distro) }

// Step is one lifecycle operation with the invocations the driver makes for it, in order.
type Step struct {
	Name        string
	Invocations []Invocation
}

// Steps lists the invocations of every lifecycle step, for documentation and golden tests. Steps
// that poll (start waits for Running, stop for Stopped) list the polling invocation once.
func (p Plan) Steps() []Step {
	return []Step{
		{"status", []Invocation{p.List()}},
		{"create-disk", []Invocation{p.List(), p.Import()}},
		{"start", []Invocation{p.List(), p.KeepAlive(), p.List(), p.Boot()}},
		{"ssh-address", []Invocation{p.List(), p.GuestIP()}},
		{"stop", []Invocation{p.List(), p.Sync(), p.Terminate(), p.List()}},
		{"kill", []Invocation{p.List(), p.Terminate(), p.List()}},
		{"delete", []Invocation{p.List(), p.Unregister()}},
	}
}

// WindowsToWSLPath translates a Windows path on a drive letter into the path WSL's default
// automount shows it at: C:\Users\me -> /mnt/c/Users/me. It accepts '/' as separator and the \\?\
// prefix. UNC paths (\\server\share, \\wsl.localhost\...) and relative paths are an error wrapping
// driver.ErrInvalidConfig: the distro does not see them under /mnt.
func WindowsToWSLPath(p string) (string, error) {
	s := strings.ReplaceAll(p, `\`, "/")
	if strings.HasPrefix(s, "//?/") || strings.HasPrefix(s, "//./") {
		s = s[4:]
	}
	if len(s) < 2 || s[1] != ':' || !isLetter(s[0]) {
		if strings.HasPrefix(s, "//") {
			return "", fmt.Errorf("%q is a network (UNC) path, which WSL does not mount under /mnt: use a folder on a drive letter: %w", p, driver.ErrInvalidConfig)
		}
		return "", fmt.Errorf("%q is not an absolute Windows path with a drive letter (such as C:\\Users\\me): %w", p, driver.ErrInvalidConfig)
	}
	rest := s[2:]
	if rest != "" && rest[0] != '/' {
		return "", fmt.Errorf("%q is relative to the current folder of drive %c: use an absolute path: %w", p, s[0], driver.ErrInvalidConfig)
	}
	out := "/mnt/" + strings.ToLower(s[:1]) + path.Clean("/"+rest)
	return strings.TrimSuffix(out, "/"), nil
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
