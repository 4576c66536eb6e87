package qemu

import (
	"path/filepath"
	"strings"
	"syscall"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// detached starts QEMU (and virtiofsd) in its own session, so a terminal's ^C aimed at limactl does
// not reach it, and, on Linux, with a parent-death signal (see withParentDeathSignal).
func detached() *syscall.SysProcAttr {
	return withParentDeathSignal(osutil.SysProcAttrDetached())
}

// qemuPID checks qemu.pid (store.CheckPIDFile): the pid of this instance's QEMU (0 when none runs)
// and whether it may be signalled. QEMU is recognised by its command line: a qemu-system binary
// naming the instance directory, and by having started before it wrote the file. A stale file (a dead
// process, or a pid reused by another program after a reboot or crash) is removed together with the
// sockets and disk locks of the run that left it.
func (d *Driver) qemuPID() store.PIDFile {
	f, err := store.CheckPIDFile(d.path(filenames.PIDFile(Name)), d.isQEMU)
	if err != nil {
		logrus.Debugf("instance %q: %v", d.cfg.Name, err)
		return store.PIDFile{}
	}
	if f.Stale {
		d.cleanup()
	}
	return f
}

// runningPID returns the pid of this instance's QEMU, or 0 when none runs. The pid may only be
// signalled when qemuPID confirms it.
func (d *Driver) runningPID() int { return d.qemuPID().PID }

// isQEMU reports whether a command line is this instance's QEMU: a qemu-system binary (argv[0]) that
// names the instance directory.
func (d *Driver) isQEMU(args []string) bool {
	return len(args) > 0 && strings.Contains(filepath.Base(args[0]), "qemu-system") &&
		store.InstanceProcess(d.cfg.InstanceDir)(args)
}
