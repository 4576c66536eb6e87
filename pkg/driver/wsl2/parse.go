package wsl2

import (
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/limactl/limactl/pkg/driver"
)

// State is a distro's state as `wsl.exe --list --verbose` prints it.
type State string

// The states wsl.exe prints in English. Other languages print translations, which ParseList keeps
// as they are (State.Known reports false for them).
const (
	StateRunning      State = "Running"
	StateStopped      State = "Stopped"
	StateInstalling   State = "Installing"
	StateConverting   State = "Converting"
	StateUninstalling State = "Uninstalling"
)

// Known reports whether s is one of the English states above.
func (s State) Known() bool {
	switch s {
	case StateRunning, StateStopped, StateInstalling, StateConverting, StateUninstalling:
		return true
	}
	return false
}

// Distro is one row of `wsl.exe --list --verbose`.
type Distro struct {
	Name    string
	State   State
	Version int // 1 or 2
	Default bool
}

// ParseList reads the decoded output of `wsl.exe --list --verbose`:
//
//	  NAME            STATE           VERSION
//	* Ubuntu          Running         2
//	  lima-default    Stopped         2
//
// The header is localized, so it is recognised by its last column not being a number, not by its
// words. A state may be several words in some languages (the columns between the name and the
// version). The "no installed distributions" message parses as an empty list.
func ParseList(text string) []Distro {
	var out []Distro
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		def := false
		if strings.HasPrefix(line, "*") {
			def = true
			line = strings.TrimSpace(line[1:])
		}
		f := strings.Fields(line)
		if len(f) < 3 {
			continue
		}
		v, err := strconv.Atoi(f[len(f)-1])
		if err != nil || (v != 1 && v != 2) {
			continue // header, message, or something else
		}
		out = append(out, Distro{Name: f[0], State: State(strings.Join(f[1:len(f)-1], " ")), Version: v, Default: def})
	}
	return out
}

// ParseNames reads `wsl.exe --list --quiet` (one name per line).
func ParseNames(text string) []string {
	var out []string
	for _, line := range strings.Split(text, "\n") {
		if n := strings.TrimSpace(line); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// ExitCode is a wsl.exe exit status. Windows exit codes are 32-bit unsigned: wsl.exe fails with
// 0xFFFFFFFF, which Go reports as 4294967295 (and a C program would call -1).
type ExitCode uint32

// String renders the code for people: "0", "1", or "4294967295 (0xFFFFFFFF, -1)".
func (c ExitCode) String() string {
	if c < 256 {
		return strconv.FormatUint(uint64(c), 10)
	}
	return fmt.Sprintf("%d (0x%08X, %d)", uint32(c), uint32(c), int32(c))
}

// errorCodeRE finds the stable part of a wsl.exe error message (the text around it is localized):
// "Error code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND", a bare WSL_E_ token, or an HRESULT.
var errorCodeRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`\b(?:Wsl(?:/[A-Za-z0-9_]+)*/)?((?:WSL_E|HCS_E|ERROR|E)_[A-Z0-9_]+)\b|\b0x8[0-9A-Fa-f]{7}\b`)
})

// ParseErrorCode returns the error code in decoded wsl.exe output, as printed
// ("Wsl/Service/WSL_E_DISTRO_NOT_FOUND", "WSL_E_DISTRO_NOT_FOUND", "0x8007019e"), and its last
// component ("WSL_E_DISTRO_NOT_FOUND"); both empty when there is none.
func ParseErrorCode(text string) (full, code string) {
	m := errorCodeRE().FindStringSubmatch(text)
	if m == nil {
		return "", ""
	}
	if m[1] == "" {
		return m[0], strings.ToLower(m[0])
	}
	return m[0], m[1]
}

// errorKinds maps wsl.exe error codes to the driver's error kinds.
var errorKinds = map[string]error{
	"WSL_E_DISTRO_NOT_FOUND":                  driver.ErrNotFound,
	"WSL_E_DEFAULT_DISTRO_NOT_FOUND":          driver.ErrNotFound,
	"ERROR_FILE_NOT_FOUND":                    driver.ErrNotFound,
	"ERROR_PATH_NOT_FOUND":                    driver.ErrNotFound,
	"0x8007019e":                              driver.ErrUnsupported, // WSL optional component missing
	"ERROR_ALREADY_EXISTS":                    driver.ErrAlreadyExists,
	"WSL_E_DISTRO_ALREADY_EXISTS":             driver.ErrAlreadyExists,
	"ERROR_FILE_EXISTS":                       driver.ErrAlreadyExists,
	"WSL_E_WSL_OPTIONAL_COMPONENT_REQUIRED":   driver.ErrUnsupported,
	"WSL_E_VIRTUAL_MACHINE_PLATFORM_REQUIRED": driver.ErrUnsupported,
	"WSL_E_WSL2_NEEDS_KERNEL_UPDATE":          driver.ErrUnsupported,
	"HCS_E_HYPERV_NOT_INSTALLED":              driver.ErrUnsupported,
	"WSL_E_VM_MODE_INVALID_STATE":             driver.ErrUnsupported,
	"WSL_E_NOT_A_LINUX_DISTRO":                driver.ErrInvalidConfig,
	"WSL_E_IMPORT_FAILED":                     driver.ErrInvalidConfig,
	"WSL_E_INVALID_USAGE":                     driver.ErrInvalidConfig,
}

// ErrorKind returns the driver error kind of a wsl.exe error code (the component ParseErrorCode
// returns second), or nil for codes without one.
func ErrorKind(code string) error { return errorKinds[code] }

// noDistrosRE recognises the message `--list` prints when nothing is installed, in English; other
// languages are recognised by WSL_E_DEFAULT_DISTRO_NOT_FOUND.
var noDistrosRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?i)has no installed distributions`)
})

// Error is a failed wsl.exe invocation. It unwraps to its driver error kind (ErrNotFound, ...)
// when the code has one.
type Error struct {
	Invocation Invocation
	Exit       ExitCode
	Code       string // as printed, e.g. "Wsl/Service/WSL_E_DISTRO_NOT_FOUND"; may be empty
	Message    string // the decoded output, trimmed
	Kind       error  // a driver error kind, or nil
}

func (e *Error) Error() string {
	msg := strings.Join(strings.Fields(e.Message), " ")
	if len(msg) > 400 {
		msg = msg[:400] + "..."
	}
	s := fmt.Sprintf("%s exited with %s", strings.Join(append([]string{Exe}, e.Invocation.Args...), " "), e.Exit)
	if msg != "" {
		s += ": " + msg
	}
	if e.Code != "" && !strings.Contains(msg, e.Code) {
		s += " (" + e.Code + ")"
	}
	return s
}

// Unwrap returns the error kind.
func (e *Error) Unwrap() error { return e.Kind }

// CheckResult turns a finished invocation into nil (exit 0) or an *Error carrying the decoded
// output and the kind of its error code.
func CheckResult(inv Invocation, r Result) error {
	if r.Exit == 0 {
		return nil
	}
	msg := strings.TrimSpace(DecodeOutput(r.Stderr) + "\n" + DecodeOutput(r.Stdout))
	full, code := ParseErrorCode(msg)
	return &Error{Invocation: inv, Exit: r.Exit, Code: full, Message: msg, Kind: ErrorKind(code)}
}

// IsNoDistros reports whether err is `--list` failing only because no distro is installed.
func IsNoDistros(err error) bool {
	var we *Error
	if !errors.As(err, &we) {
		return false
	}
	_, code := ParseErrorCode(we.Message)
	return code == "WSL_E_DEFAULT_DISTRO_NOT_FOUND" || noDistrosRE().MatchString(we.Message)
}

// ParseGuestIP reads the distro's IPv4 address from `ip -4 -o addr show eth0` ("2: eth0 inet
// 172.20.1.2/20 brd ...") or, failing that, `hostname -I` ("172.20.1.2 10.0.0.5 "): the first
// address that is not loopback.
func ParseGuestIP(text string) (string, error) {
	f := strings.Fields(text)
	for i, w := range f {
		cand := ""
		switch {
		case w == "inet" && i+1 < len(f):
			cand, _, _ = strings.Cut(f[i+1], "/")
		case i > 0 && f[i-1] == "inet":
			continue
		case !strings.Contains(text, " inet "):
			cand = w
		}
		ip := net.ParseIP(cand)
		if ip == nil || ip.To4() == nil || ip.IsLoopback() || ip.IsUnspecified() {
			continue
		}
		return ip.String(), nil
	}
	return "", fmt.Errorf("no IPv4 address in the output of %q: %q", guestIPScript, strings.TrimSpace(text))
}
