package atomicfile

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"
)

// fsync flushes f to stable storage. On macOS fsync(2) leaves the data in the drive's cache;
// F_FULLFSYNC flushes that too. Filesystems without it (SMB, some FUSE) get a plain fsync.
func fsync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = ignoringEINTR(func() error {
			_, err := unix.FcntlInt(fd, unix.F_FULLFSYNC, 0)
			return err
		})
		if serr != nil {
			serr = ignoringEINTR(func() error { return unix.Fsync(int(fd)) })
		}
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "fsync", Path: f.Name(), Err: serr}
	}
	return nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}
