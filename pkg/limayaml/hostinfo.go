package limayaml

import (
	"os"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
)

// HostInfo holds the facts about the host that defaults and validation depend on. Everything that
// varies from machine to machine is here, so tests can pretend to be macOS 12 on Intel or Windows
// build 19040 by replacing detectedHost.
type HostInfo struct {
	OS           string // runtime.GOOS spelling: "linux", "darwin", "windows"
	Arch         Arch   // Lima spelling: "x86_64", "aarch64", ...
	CPUs         int
	MemoryBytes  int64
	User         string // login name
	UID          uint32
	Home         string
	TimeZone     string // zoneinfo name, "" when unknown
	MacOSVersion string // e.g. "13.4.1"; "" when not macOS
	WindowsBuild int    // e.g. 19041; 0 when not Windows
	MachineID    string // stable per host, seeds generated MAC addresses
	TempDir      string // the per-user temporary directory ({{.TempDir}})
}

// detectedHost reads the host at its first call and remembers it: the user lookup and the files
// DetectHost reads are not paid by every limactl process, only by those that need the host. Tests
// assign it.
var detectedHost = sync.OnceValue(DetectHost)

// Host returns the machine limactl runs on, detected at the first call.
func Host() HostInfo { return detectedHost() }

// DetectHost reads the facts of the machine this process runs on. It never fails: a fact it cannot
// read keeps a harmless fallback.
func DetectHost() HostInfo {
	h := HostInfo{
		OS:      runtime.GOOS,
		Arch:    GoArchToLima(runtime.GOARCH),
		CPUs:    runtime.NumCPU(),
		TempDir: os.TempDir(),
	}
	h.MemoryBytes = 8 << 30 // fallback when the platform cannot tell
	detectPlatform(&h)
	if u, err := user.Current(); err == nil {
		h.User = u.Username
		if uid, err := strconv.ParseUint(u.Uid, 10, 32); err == nil {
			h.UID = uint32(uid)
		}
		h.Home = u.HomeDir
	}
	if home, err := os.UserHomeDir(); err == nil {
		h.Home = home
	}
	h.TimeZone = hostTimeZone()
	h.MachineID = hostMachineID()
	return h
}

// GoArchToLima turns a GOARCH value into Lima's spelling; unknown values are returned unchanged.
func GoArchToLima(goarch string) Arch {
	switch goarch {
	case "amd64":
		return X8664
	case "arm64":
		return AARCH64
	case "arm":
		return ARMV7L
	case "ppc64le":
		return PPC64LE
	case "riscv64":
		return RISCV64
	case "s390x":
		return S390X
	}
	return goarch
}

func hostTimeZone() string {
	if b, err := os.ReadFile("/etc/timezone"); err == nil {
		if tz := strings.TrimSpace(string(b)); tz != "" {
			return tz
		}
	}
	if target, err := os.Readlink("/etc/localtime"); err == nil {
		if i := strings.Index(target, "zoneinfo/"); i >= 0 {
			return target[i+len("zoneinfo/"):]
		}
		return filepath.Base(target)
	}
	return ""
}

func hostMachineID() string {
	for _, p := range []string{"/etc/machine-id", "/var/lib/dbus/machine-id"} {
		if b, err := os.ReadFile(p); err == nil {
			if id := strings.TrimSpace(string(b)); id != "" {
				return id
			}
		}
	}
	name, _ := os.Hostname()
	return name
}

// VersionAtLeast reports whether the dotted version v ("13.4.1") is at least major.minor; a v that
// does not start with a number is not.
func VersionAtLeast(v string, major, minor int) bool {
	parts := strings.SplitN(v, ".", 3)
	maj, err := strconv.Atoi(parts[0])
	if err != nil {
		return false
	}
	mnr := 0
	if len(parts) > 1 {
		mnr, _ = strconv.Atoi(parts[1])
	}
	return maj > major || (maj == major && mnr >= minor)
}
