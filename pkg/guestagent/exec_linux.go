package guestagent

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"
	"golang.org/x/sys/unix"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// cgroup2Root is where the cgroup2 hierarchy is mounted: /sys/fs/cgroup, or
// /sys/fs/cgroup/unified on a host in systemd's hybrid mode (where systemd tracks sessions in the
// cgroup2 hierarchy too); "" when there is none.
func cgroup2Root() string {
	for _, dir := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st unix.Statfs_t
		if unix.Statfs(dir, &st) == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return dir
		}
	}
	return ""
}

// execCommand makes req's command: Shell -c Command (after "umask NNNN; " when req.Umask is set)
// with argv[0] the shell's base name, exactly req.Env, in req.Dir, in a new session, as req's user
// (unless that is the agent's own, in tests) with the groups the user has now, and in req.Cgroup
// when it is not empty. The returned function releases what the start needed.
func execCommand(req api.ExecRequest) (*exec.Cmd, func(), error) {
	if !filepath.IsAbs(req.Shell) {
		return nil, nil, errors.New("exec: the shell is not an absolute path")
	}
	cmd := exec.Command(req.Shell, "-c", fullLine(req))
	cmd.Args[0] = filepath.Base(req.Shell)
	cmd.Env = append([]string{}, req.Env...) // never the agent's own
	cmd.Dir = req.Dir
	attr := &syscall.SysProcAttr{Setsid: true}
	if os.Getuid() == 0 || uint32(os.Getuid()) != req.UID || uint32(os.Getgid()) != req.GID {
		attr.Credential = &syscall.Credential{Uid: req.UID, Gid: req.GID, Groups: userGroups(req)}
	}
	cleanup := func() {}
	if root := cgroup2Root(); req.Cgroup != "" && root != "" {
		fd, err := unix.Open(filepath.Join(root, path.Clean("/"+req.Cgroup)), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, nil, fmt.Errorf("exec: the session's cgroup: %w", err)
		}
		attr.UseCgroupFD, attr.CgroupFD = true, fd
		cleanup = func() { _ = unix.Close(fd) }
	}
	cmd.SysProcAttr = attr
	return cmd, cleanup, nil
}

// userGroups is what sshd's initgroups would give req's user now: its groups in /etc/group (a
// usermod -aG since the host learnt the session counts at once), with its primary group; the
// session's, as the host learnt them, when the user is not a local one.
func userGroups(req api.ExecRequest) []uint32 {
	u, err := user.LookupId(strconv.FormatUint(uint64(req.UID), 10))
	if err != nil {
		return req.Groups
	}
	ids, err := u.GroupIds()
	if err != nil {
		return req.Groups
	}
	groups := []uint32{req.GID}
	for _, id := range ids {
		if n, err := strconv.ParseUint(id, 10, 32); err == nil && uint32(n) != req.GID {
			groups = append(groups, uint32(n))
		}
	}
	return groups
}

// rlimits maps api.ExecLimit resources to their numbers.
var rlimits = map[string]int{
	"cpu": unix.RLIMIT_CPU, "fsize": unix.RLIMIT_FSIZE, "data": unix.RLIMIT_DATA, "stack": unix.RLIMIT_STACK,
	"core": unix.RLIMIT_CORE, "rss": unix.RLIMIT_RSS, "nproc": unix.RLIMIT_NPROC, "nofile": unix.RLIMIT_NOFILE,
	"memlock": unix.RLIMIT_MEMLOCK, "as": unix.RLIMIT_AS, "locks": unix.RLIMIT_LOCKS,
	"sigpending": unix.RLIMIT_SIGPENDING, "msgqueue": unix.RLIMIT_MSGQUEUE, "nice": unix.RLIMIT_NICE,
	"rtprio": unix.RLIMIT_RTPRIO, "rttime": unix.RLIMIT_RTTIME,
}

// setLimits gives process pid the resource limits and OOM score adjustment of the session it
// stands in for.
func setLimits(pid int, limits []api.ExecLimit, oomAdj *int) {
	if oomAdj != nil {
		p := "/proc/" + strconv.Itoa(pid) + "/oom_score_adj"
		if err := os.WriteFile(p, []byte(strconv.Itoa(*oomAdj)), 0); err != nil {
			logrus.WithError(err).Debug("exec: cannot set the OOM score adjustment")
		}
	}
	for _, l := range limits {
		res, ok := rlimits[l.Resource]
		if !ok {
			continue
		}
		rl := unix.Rlimit{Cur: l.Soft, Max: l.Hard}
		if err := unix.Prlimit(pid, res, &rl, nil); err != nil {
			logrus.WithError(err).Debugf("exec: cannot set the %s limit", l.Resource)
		}
	}
}

// memFile makes an anonymous file in memory, closed on exec.
func memFile(name string) (*os.File, error) {
	fd, err := unix.MemfdCreate(name, unix.MFD_CLOEXEC)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

// signalCmd sends c the signal SSH names name, as sshd does: to the process it started, and only
// the signals RFC 4254 names.
func signalCmd(c *execCmd, name string) {
	if sig := sshSignals[name]; sig != 0 {
		_ = c.cmd.Process.Signal(sig)
	}
}

// sshSignals are the signals RFC 4254 (section 6.10) names, which sshd delivers.
var sshSignals = map[string]syscall.Signal{
	"ABRT": syscall.SIGABRT, "ALRM": syscall.SIGALRM, "FPE": syscall.SIGFPE, "HUP": syscall.SIGHUP,
	"ILL": syscall.SIGILL, "INT": syscall.SIGINT, "KILL": syscall.SIGKILL, "PIPE": syscall.SIGPIPE,
	"QUIT": syscall.SIGQUIT, "SEGV": syscall.SIGSEGV, "TERM": syscall.SIGTERM, "USR1": syscall.SIGUSR1,
	"USR2": syscall.SIGUSR2,
}

// signalName is the name SSH gives sig ("TERM"): its name without "SIG".
func signalName(sig syscall.Signal) string {
	if name := unix.SignalName(sig); name != "" {
		return strings.TrimPrefix(name, "SIG")
	}
	return fmt.Sprintf("SIG%d", int(sig))
}
