package osutil

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// PIDFileSlack is how much later than its pid file's modification time a process may have started and
// still be the file's writer. The writer starts before it writes (QEMU writes its own -pidfile after
// it started), so the slack only absorbs clock and file-system timestamp granularity: 1 s on HFS+,
// 10 ms for Linux process start times.
const PIDFileSlack = 2 * time.Second

// Identity is the verdict of CheckIdentity on a live pid.
type Identity int

const (
	// IdentityUnknown: the OS would not say enough to decide (another user's process, no procfs).
	// The process counts as alive, as it did before identities were checked, but it must never be
	// signalled.
	IdentityUnknown Identity = iota
	// IdentityConfirmed: the process started before the pid file was written and its command line
	// is one the caller expects. It may be signalled.
	IdentityConfirmed
	// IdentityMismatch: another process has the pid (it started after the pid file was written, or
	// runs an unrelated command). The pid file is stale.
	IdentityMismatch
)

func (id Identity) String() string {
	switch id {
	case IdentityConfirmed:
		return "confirmed"
	case IdentityMismatch:
		return "mismatch"
	}
	return "unknown"
}

// errArgsUnsupported is returned by processArgs where the OS gives no other process's command line
// (Windows): the start time is then the whole identity.
var errArgsUnsupported = errors.New("this OS does not expose another process's command line")

// CheckIdentity tells whether the live process pid is the one that wrote (or was recorded in) a pid
// file last modified at written. Two facts are checked, each when the OS gives it:
//   - the process started no later than written (plus PIDFileSlack): a process that started after
//     the file was written cannot be its writer, whatever it runs. This catches a pid reused after a
//     host reboot or a crash.
//   - match accepts its command line (argv). This catches a file whose modification time was bumped
//     (copied without -p, touched). A nil match accepts every command line; so does this process
//     (pid == os.Getpid()), which knows who it is.
//
// Either fact contradicted gives IdentityMismatch; both confirmed gives IdentityConfirmed (on Windows,
// which gives no command line, the start time alone confirms); otherwise IdentityUnknown. The string
// says why the identity is not confirmed, naming the process.
func CheckIdentity(pid int, written time.Time, match func(args []string) bool) (Identity, string) {
	start, startErr := processStart(pid)
	if startErr == nil && start.After(written.Add(PIDFileSlack)) {
		return IdentityMismatch, fmt.Sprintf("pid %d (%s) started at %s, after the pid file was written at %s",
			pid, describeProcess(pid), start.Format(time.RFC3339), written.Format(time.RFC3339))
	}
	argsKnown := true
	if match != nil && pid != os.Getpid() {
		args, err := processArgs(pid)
		switch {
		case errors.Is(err, errArgsUnsupported):
		case err != nil:
			argsKnown = false
			if startErr == nil {
				startErr = err
			}
		case !match(args):
			return IdentityMismatch, fmt.Sprintf("pid %d runs %s, not one of the instance's processes", pid, quoteArgs(args))
		}
	}
	if startErr != nil || !argsKnown {
		return IdentityUnknown, fmt.Sprintf("cannot tell what pid %d is: %v", pid, startErr)
	}
	return IdentityConfirmed, ""
}

// ArgsNameDir returns a matcher for CheckIdentity that accepts a command line naming one of dirs or a
// path inside it in one of its arguments ("DIR/..." anywhere in an argument, or an argument ending
// with DIR), so that /x/.lima/a does not match /x/.lima/ab. An instance directory is such a marker:
// QEMU's -pidfile and drive paths and the host agent's --pidfile name it. Empty dirs are ignored.
func ArgsNameDir(dirs ...string) func(args []string) bool {
	return func(args []string) bool {
		for _, a := range args {
			for _, d := range dirs {
				d = strings.TrimRight(d, string(filepath.Separator))
				if d != "" && (strings.Contains(a, d+string(filepath.Separator)) || strings.HasSuffix(a, d)) {
					return true
				}
			}
		}
		return false
	}
}

// ArgsWritePIDFile reports whether a command line names path as the pid file the process writes:
// "-pidfile PATH" (QEMU) or "--pidfile PATH" (the host agent), or either with "=PATH". A process with
// such an argument whose pid is in that file wrote it (a later process with the same pid would have
// to be a second writer of the same file, which would have rewritten it), so callers may take this as
// its identity whatever the clocks say: a wall clock stepped forward after the file was written (a
// host resumed from a pause) makes a Linux process seem to start later than it did.
func ArgsWritePIDFile(args []string, paths ...string) bool {
	named := func(v string) bool {
		for _, p := range paths {
			if p != "" && filepath.Clean(v) == filepath.Clean(p) {
				return true
			}
		}
		return false
	}
	for i, a := range args {
		flag, value, hasValue := strings.Cut(a, "=")
		if flag != "-pidfile" && flag != "--pidfile" {
			continue
		}
		if hasValue && named(value) || !hasValue && i+1 < len(args) && named(args[i+1]) {
			return true
		}
	}
	return false
}

// ProcessArgs returns pid's command line (argv), where the OS gives it: Linux (/proc/PID/cmdline)
// and macOS (sysctl kern.procargs2, the caller's own processes only).
func ProcessArgs(pid int) ([]string, error) { return processArgs(pid) }

// IsLimactl reports whether a command line runs a limactl binary (by its argv[0]).
func IsLimactl(args []string) bool {
	return len(args) > 0 && strings.HasPrefix(filepath.Base(args[0]), "limactl")
}

// describeProcess names pid's command line for a message, or "command line unknown".
func describeProcess(pid int) string {
	args, err := processArgs(pid)
	if err != nil {
		return "command line unknown"
	}
	return quoteArgs(args)
}

// quoteArgs renders argv for a message, shortened to keep a log line readable.
func quoteArgs(args []string) string {
	s := fmt.Sprintf("%q", strings.Join(args, " "))
	if len(s) > 200 {
		s = s[:197] + `..."`
	}
	return s
}
