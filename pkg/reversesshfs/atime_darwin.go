package reversesshfs

import (
	"os"
	"syscall"
	"time"
)

// atimeOf is a file's access time; the zero time when the platform does not say.
func atimeOf(st os.FileInfo) time.Time {
	if s, ok := st.Sys().(*syscall.Stat_t); ok {
		return time.Unix(s.Atimespec.Unix())
	}
	return time.Time{}
}
