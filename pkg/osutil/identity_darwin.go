package osutil

import (
	"bytes"
	"encoding/binary"
	"errors"
	"time"

	"golang.org/x/sys/unix"
)

// processStart reads pid's start time (p_starttime, wall clock at fork) with sysctl kern.proc.pid.
func processStart(pid int) (time.Time, error) {
	kp, err := unix.SysctlKinfoProc("kern.proc.pid", pid)
	if err != nil {
		return time.Time{}, err
	}
	t := kp.Proc.P_starttime
	return time.Unix(int64(t.Sec), int64(t.Usec)*1000), nil
}

// processArgs reads pid's argv with sysctl kern.procargs2: a 32-bit argc, the executable path, NUL
// padding, then argc NUL-terminated arguments (then the environment, ignored). The kernel gives it for
// the caller's own processes only; for others it fails (EINVAL or EPERM), and the identity is unknown.
func processArgs(pid int) ([]string, error) {
	buf, err := unix.SysctlRaw("kern.procargs2", pid)
	if err != nil {
		return nil, err
	}
	if len(buf) < 4 {
		return nil, errors.New("short kern.procargs2")
	}
	argc := int(binary.LittleEndian.Uint32(buf))
	rest := buf[4:]
	i := bytes.IndexByte(rest, 0)
	if i < 0 {
		return nil, errors.New("kern.procargs2 without an executable path")
	}
	rest = bytes.TrimLeft(rest[i:], "\x00")
	args := make([]string, 0, argc)
	for len(args) < argc && len(rest) > 0 {
		arg, after, _ := bytes.Cut(rest, []byte{0})
		args = append(args, string(arg))
		rest = after
	}
	if len(args) == 0 {
		return nil, errors.New("empty command line")
	}
	return args, nil
}
