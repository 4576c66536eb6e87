package qemu

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// startReadOnlyBound starts cmd in a mount namespace of its own in which dir, and every mount below
// it, is a read-only bind mount of itself; the host's mount table is left alone. A guest that talks
// to a virtiofsd started this way cannot change a file under dir, whatever it asks: the kernel
// answers EROFS. virtiofsd's own sandbox (a further namespace, pivot_root into dir) copies the
// read-only mounts, so they stay read-only there too.
//
// The namespace is entered by one OS thread, locked for the purpose and never given back to the
// runtime: cmd is forked from it and waited for on it. The thread must outlive cmd, since the
// parent-death signal (withParentDeathSignal) fires when the forking thread ends. The returned
// channel receives cmd.Wait's result. Needs CAP_SYS_ADMIN (root). When that thread is the main
// thread, the runtime parks it for good instead of ending it, and /proc/self (which follows the
// main thread) shows the private namespace; no host-side code reads mounts through it.
func startReadOnlyBound(cmd *exec.Cmd, dir string) (<-chan error, error) {
	started := make(chan error, 1)
	exited := make(chan error, 1)
	go func() {
		// Never unlocked: when this goroutine returns, the runtime ends the thread with its namespace.
		runtime.LockOSThread()
		if err := enterReadOnlyNamespace(dir, unix.MountSetattr); err != nil {
			started <- err
			return
		}
		if err := cmd.Start(); err != nil {
			started <- fmt.Errorf("starting %s: %w", cmd.Path, err)
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}

// mountSetattrFunc is unix.MountSetattr; tests pass one that fails with ENOSYS to run the fallback.
type mountSetattrFunc func(dirfd int, path string, flags uint, attr *unix.MountAttr) error

// enterReadOnlyNamespace moves the calling thread (locked to its goroutine) into a new mount
// namespace, makes every mount there private (nothing propagates to or from the host), binds dir
// onto itself with its submounts, and makes that tree read-only: with mount_setattr (Linux 5.12+)
// in one step, or, on older kernels, by remounting each mount of the tree read-only.
func enterReadOnlyNamespace(dir string, setattr mountSetattrFunc) error {
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return err
	}
	if err := unix.Unshare(unix.CLONE_NEWNS); err != nil {
		return fmt.Errorf("unshare(CLONE_NEWNS): %w", err)
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("making the mounts private: %w", err)
	}
	if err := unix.Mount(real, real, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return fmt.Errorf("bind-mounting %s: %w", real, err)
	}
	err = setattr(unix.AT_FDCWD, real, unix.AT_RECURSIVE, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY})
	if errors.Is(err, unix.ENOSYS) {
		err = remountTreeReadOnly(real)
	}
	if err != nil {
		return fmt.Errorf("making %s read-only: %w", real, err)
	}
	return nil
}

// remountTreeReadOnly remounts dir and every mount below it read-only, keeping their nosuid, nodev,
// noexec and atime flags, for kernels without mount_setattr.
func remountTreeReadOnly(dir string) error {
	points, err := mountPointsUnder("/proc/thread-self/mountinfo", dir)
	if err != nil {
		return err
	}
	for _, mp := range points {
		var st unix.Statfs_t
		if err := unix.Statfs(mp, &st); err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // hidden under another mount, so out of reach
			}
			return err
		}
		flags := uintptr(unix.MS_REMOUNT | unix.MS_BIND | unix.MS_RDONLY)
		for _, f := range []struct{ st, ms uintptr }{
			{unix.ST_NOSUID, unix.MS_NOSUID}, {unix.ST_NODEV, unix.MS_NODEV}, {unix.ST_NOEXEC, unix.MS_NOEXEC},
			{unix.ST_NOATIME, unix.MS_NOATIME}, {unix.ST_NODIRATIME, unix.MS_NODIRATIME}, {unix.ST_RELATIME, unix.MS_RELATIME},
		} {
			if uintptr(st.Flags)&f.st != 0 {
				flags |= f.ms
			}
		}
		if err := unix.Mount("", mp, "", flags, ""); err != nil {
			return fmt.Errorf("remounting %s read-only: %w", mp, err)
		}
	}
	return nil
}

// mountPointsUnder lists the mount points at or below dir in a mountinfo file, shortest first.
func mountPointsUnder(mountinfo, dir string) ([]string, error) {
	f, err := os.Open(mountinfo)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if (mp == dir || strings.HasPrefix(mp, dir+"/") || dir == "/") && !slices.Contains(out, mp) {
			out = append(out, mp)
		}
	}
	slices.SortStableFunc(out, func(a, b string) int { return len(a) - len(b) })
	return out, sc.Err()
}

// unescapeMountinfo decodes mountinfo's octal escapes (\040 for a space, \011, \012, \134).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// unixListening reports whether a socket bound to path is listening, from /proc/net/unix: virtiofsd
// creates its socket file (bind) before it listens, and a client that connects in between is
// refused. ok is false when the table cannot be read; the caller then goes by the file alone.
func unixListening(path string) (listening, ok bool) {
	b, err := os.ReadFile("/proc/net/unix")
	if err != nil {
		return false, false
	}
	return unixListeningIn(string(b), path), true
}

// unixListeningIn looks path up in the text of /proc/net/unix ("Num RefCount Protocol Flags Type
// St Inode Path" lines); __SO_ACCEPTCON (0x10000) in Flags marks a listening socket.
func unixListeningIn(table, path string) bool {
	for _, line := range strings.Split(table, "\n") {
		f := strings.Fields(line)
		if len(f) < 8 || strings.Join(f[7:], " ") != path {
			continue
		}
		if flags, err := strconv.ParseUint(f[3], 16, 32); err == nil && flags&0x10000 != 0 {
			return true
		}
	}
	return false
}
