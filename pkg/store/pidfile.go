package store

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/osutil"
)

// PIDFile is what CheckPIDFile learned from a pid file (ha.pid, qemu.pid, vz.pid, ...). The files
// hold the pid and a newline, as Lima writes them; their modification time says when the pid was
// recorded.
type PIDFile struct {
	// PID is the live process the file names, or 0: no file, or it named a dead or unrelated
	// process (then it has been removed, and Stale is set).
	PID int
	// Confirmed is set when PID is known to be the instance's process (osutil.IdentityConfirmed).
	// Only a confirmed pid may be signalled. An unconfirmed live PID (the OS would not tell its start
	// time or command line, typically another user's process) still counts as running, so that an
	// instance never looks stopped while it might run; `limactl stop -f` then forgets it without a
	// signal.
	Confirmed bool
	// Stale is set when the file named a dead or unrelated process and was removed.
	Stale bool
}

// CheckPIDFile reads the pid file at path and checks its process: alive (osutil.ProcessAlive), and
// the one that wrote the file: its command line names path as its pid file (osutil.ArgsWritePIDFile:
// QEMU's -pidfile, the host agent's --pidfile), or else osutil.CheckIdentity confirms it, with match,
// or InstanceProcess(dir of path) when match is nil. A missing file gives the zero PIDFile. A file naming a dead process, or a live
// process that is not the writer (the pid was reused after a reboot or a crash), is stale: it is
// removed.
func CheckPIDFile(path string, match func(args []string) bool) (PIDFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return PIDFile{}, nil
		}
		return PIDFile{}, err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return PIDFile{}, fmt.Errorf("pid file %s does not hold a pid (%q); remove it if no process is using the instance", path, strings.TrimSpace(string(b)))
	}
	if osutil.ProcessAlive(pid) {
		st, err := os.Stat(path)
		if err != nil {
			return PIDFile{}, err
		}
		if match == nil {
			match = InstanceProcess(filepath.Dir(path))
		}
		if args, err := osutil.ProcessArgs(pid); err == nil && osutil.ArgsWritePIDFile(args, withSymlinksResolved(path)...) {
			return PIDFile{PID: pid, Confirmed: true}, nil
		}
		id, why := osutil.CheckIdentity(pid, st.ModTime(), match)
		switch id {
		case osutil.IdentityConfirmed:
			return PIDFile{PID: pid, Confirmed: true}, nil
		case osutil.IdentityUnknown:
			logrus.Debugf("pid file %s: %s; counting pid %d as running, but it will not be signalled", path, why, pid)
			return PIDFile{PID: pid}, nil
		}
		logrus.Debugf("pid file %s is stale: %s; removing it", path, why)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return PIDFile{}, fmt.Errorf("cannot remove the stale pid file %s: %w", path, err)
	}
	return PIDFile{Stale: true}, nil
}

// ReadPIDFile returns the pid recorded in path when that process is alive and not known to be
// someone else's (CheckPIDFile with the instance's matcher). A missing or stale file gives 0; a stale
// file is removed.
func ReadPIDFile(path string) (int, error) {
	f, err := CheckPIDFile(path, nil)
	return f.PID, err
}

// ConfirmPID returns nil when pid may be signalled: the pid file at path still names it, and its
// identity is confirmed (see CheckPIDFile). Every signal to a pid read from a pid file goes through
// it, so that a stale file never makes limactl signal an unrelated process.
func ConfirmPID(path string, pid int, match func(args []string) bool) error {
	f, err := CheckPIDFile(path, match)
	switch {
	case err != nil:
		return err
	case f.PID != pid:
		return fmt.Errorf("%s no longer names pid %d", path, pid)
	case !f.Confirmed:
		return fmt.Errorf("cannot confirm that pid %d is the process %s names (run with --debug for the reason)", pid, path)
	}
	return nil
}

// InstanceProcess returns the command-line matcher for the processes of the instance in dir: the
// host agent (`limactl hostagent --pidfile DIR/ha.pid ...`, Lima's as well as ours), QEMU (-pidfile
// DIR/qemu.pid and its drive paths) and whatever else names the directory, by its path as given or
// with symlinks resolved. A `limactl start --foreground` runs the host agent in its own process
// without naming the directory; it is accepted as a limactl process with --foreground.
func InstanceProcess(dir string) func(args []string) bool {
	mentions := osutil.ArgsNameDir(withSymlinksResolved(dir)...)
	return func(args []string) bool {
		if mentions(args) {
			return true
		}
		return osutil.IsLimactl(args) && slices.ContainsFunc(args[1:], func(a string) bool {
			v, ok := strings.CutPrefix(a, "--foreground")
			if !ok {
				return false
			}
			if v == "" {
				return true
			}
			b, err := strconv.ParseBool(strings.TrimPrefix(v, "="))
			return strings.HasPrefix(v, "=") && err == nil && b // --foreground=1, =t, =TRUE, as pflag parses them
		})
	}
}

// withSymlinksResolved returns path, and also its form with symlinks resolved when that differs: a
// process may have been given either ($LIMA_HOME through a symlink, /tmp and /private/tmp on macOS).
func withSymlinksResolved(path string) []string {
	paths := []string{filepath.Clean(path)}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != paths[0] {
		paths = append(paths, real)
	}
	return paths
}
