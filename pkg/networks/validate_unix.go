//go:build !windows

package networks

import (
	"fmt"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

func fileOwner(fi os.FileInfo) (uid, gid uint32, ok bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, false
	}
	return st.Uid, st.Gid, true
}

// hostChecker looks up root and daemon on this host.
func hostChecker() (*Checker, error) {
	ch := &Checker{Lstat: osLstat}
	lookup := func(name string) (uid, gid uint32, group string, err error) {
		u, err := user.Lookup(name)
		if err != nil {
			return 0, 0, "", fmt.Errorf("cannot look up the %s user: %w", name, err)
		}
		id, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid64, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return 0, 0, "", fmt.Errorf("the %s user has a non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
		}
		group = u.Gid
		if g, err := user.LookupGroupId(u.Gid); err == nil {
			group = g.Name
		}
		return uint32(id), uint32(gid64), group, nil
	}
	var err error
	if ch.RootUID, ch.RootGID, ch.RootGroup, err = lookup("root"); err != nil {
		return nil, err
	}
	if _, ch.DaemonGID, ch.DaemonGroup, err = lookup("daemon"); err != nil {
		return nil, err
	}
	return ch, nil
}
