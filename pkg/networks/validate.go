package networks

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// FileStat is what Validate needs to know about a path: its mode (from lstat, so a symlink is
// seen as one) and its owner.
type FileStat struct {
	Mode     fs.FileMode
	UID, GID uint32
}

// Checker holds the host facts the path checks use, so tests can fake them.
type Checker struct {
	// Lstat describes a path without following a final symlink; its error wraps fs.ErrNotExist
	// for a missing path.
	Lstat func(path string) (FileStat, error)
	// RootUID and RootGID are root's uid and primary gid; DaemonGID is the daemon user's gid.
	RootUID, RootGID, DaemonGID uint32
	// RootGroup and DaemonGroup name those groups in messages.
	RootGroup, DaemonGroup string
}

// Validate checks that the socket_vmnet paths of networks.yaml are safe to run through sudo:
// absolute, without whitespace or symlinks, owned by root and writable by nobody else up to /
// (paths.varRun, and its parents, may also be writable by the daemon group). paths.sudoers need not
// exist; a missing paths.socketVMNet is reported as "has to be installed". It works only on
// macOS, the one host socket_vmnet runs on.
func (c *Config) Validate() error {
	if runtime.GOOS != "darwin" {
		return fmt.Errorf("socket_vmnet networks (modes %s, %s and %s) need a macOS host, and this host runs %s: use a %s network or a socket: path in lima.yaml's networks",
			ModeShared, ModeBridged, ModeHost, runtime.GOOS, ModeUserV2)
	}
	ch, err := hostChecker()
	if err != nil {
		return err
	}
	return c.ValidateWith(ch)
}

// ValidateWith is Validate with the host facts given.
func (c *Config) ValidateWith(ch *Checker) error {
	paths := []struct{ field, path string }{
		{"socketVMNet", c.Paths.SocketVMNet},
		{"varRun", c.Paths.VarRun},
		{"sudoers", c.Paths.Sudoers},
	}
	socketVMNetMissing := false
	for _, p := range paths {
		path := p.path
		daemonWritable := p.field == "varRun"
		err := checkSyntax(path)
		if err == nil && daemonWritable {
			// varRun is created by `sudo mkdir -p`: what already exists of it must be safe.
			path = ch.existingBase(path)
		}
		if err == nil {
			err = ch.checkPath(path, daemonWritable)
		}
		if errors.Is(err, fs.ErrNotExist) {
			switch p.field {
			case "sudoers": // `limactl sudoers` writes it
				continue
			case "socketVMNet":
				socketVMNetMissing = true
				continue
			}
		}
		if err != nil {
			return fmt.Errorf("networks.yaml field `paths.%s` error: %w", p.field, err)
		}
	}
	if socketVMNetMissing {
		return fmt.Errorf("networks.yaml: %q (`paths.socketVMNet`) has to be installed", c.Paths.SocketVMNet)
	}
	return nil
}

// checkSyntax refuses what sudoers cannot hold: a relative path, or one with whitespace.
func checkSyntax(path string) error {
	switch {
	case path == "":
		return nil
	case !strings.HasPrefix(path, "/"):
		return fmt.Errorf("path %q is not an absolute path", path)
	case strings.ContainsAny(path, " \t\n"):
		return fmt.Errorf("path %q contains whitespace", path)
	}
	return nil
}

// existingBase drops the missing directories from the end of path.
func (ch *Checker) existingBase(path string) string {
	for path != "" && path != "/" && path != "." {
		if _, err := ch.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
			return path
		}
		path = filepath.Dir(path)
	}
	return path
}

func (ch *Checker) checkPath(path string, daemonWritable bool) error {
	if path == "" {
		return nil
	}
	for {
		st, err := ch.Lstat(path)
		if err != nil {
			return err
		}
		kind := "file"
		if st.Mode.IsDir() {
			kind = "dir"
		}
		if st.Mode&fs.ModeSymlink != 0 {
			return fmt.Errorf("%s %q is a symlink", kind, path)
		}
		if st.UID != ch.RootUID {
			return fmt.Errorf("%s %q is not owned by %q (uid: %d), but by uid %d", kind, path, "root", ch.RootUID, st.UID)
		}
		groupWritable := st.Mode&0o020 != 0
		switch {
		case daemonWritable:
			if groupWritable && st.GID != ch.RootGID && st.GID != ch.DaemonGID {
				return fmt.Errorf("%s %q is group-writable and group is neither %q (gid: %d) nor %q (gid: %d), but is gid: %d",
					kind, path, ch.RootGroup, ch.RootGID, ch.DaemonGroup, ch.DaemonGID, st.GID)
			}
			if st.Mode.IsDir() && st.Mode&0o001 == 0 && (st.Mode&0o010 == 0 || st.GID != ch.DaemonGID) {
				return fmt.Errorf("%s %q is not executable by the %q (gid: %d) group", kind, path, ch.DaemonGroup, ch.DaemonGID)
			}
		case groupWritable && st.GID != ch.RootGID:
			return fmt.Errorf("%s %q is group-writable and group is not %q (gid: %d), but is gid: %d",
				kind, path, ch.RootGroup, ch.RootGID, st.GID)
		}
		if st.Mode&0o002 != 0 {
			return fmt.Errorf("%s %q is world-writable", kind, path)
		}
		if path == "/" {
			return nil
		}
		path = filepath.Dir(path)
	}
}

// osLstat is the Checker.Lstat of the host.
func osLstat(path string) (FileStat, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return FileStat{}, err
	}
	uid, gid, ok := fileOwner(fi)
	if !ok {
		return FileStat{}, fmt.Errorf("could not retrieve stat buffer for %q", path)
	}
	return FileStat{Mode: fi.Mode(), UID: uid, GID: gid}, nil
}
