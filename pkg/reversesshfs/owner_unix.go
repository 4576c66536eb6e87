//go:build unix

package reversesshfs

import (
	"os"
	"syscall"
)

// owner returns fi's numeric owner, group and link count.
func owner(fi os.FileInfo) (uid, gid, nlink uint32) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return st.Uid, st.Gid, uint32(st.Nlink)
	}
	return 0, 0, 1
}

// openNonblock is added to every open: a FIFO in the folder then fails to read instead of
// blocking the mount's server (regular files and directories ignore it).
const openNonblock = syscall.O_NONBLOCK
