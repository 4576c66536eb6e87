package reversesshfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/sirupsen/logrus"
)

// SFTP drivers (lima.yaml's mounts[].sshfs.sftpDriver).
const (
	DriverBuiltin = "builtin"             // the SFTP server in this process (NewHandlers)
	DriverOpenSSH = "openssh-sftp-server" // the host's OpenSSH sftp-server binary
)

// SFTPServerPaths are where OpenSSH's sftp-server is installed: macOS, Debian and Ubuntu, Fedora
// and RHEL, Arch, Alpine, then Homebrew's openssh (Apple silicon, then Intel). FindSFTPServer also
// looks for sftp-server on PATH.
var SFTPServerPaths = []string{
	"/usr/libexec/sftp-server",
	"/usr/lib/openssh/sftp-server",
	"/usr/libexec/openssh/sftp-server",
	"/usr/lib/ssh/sftp-server",
	"/usr/lib/sftp-server",
	"/opt/homebrew/opt/openssh/libexec/sftp-server",
	"/usr/local/opt/openssh/libexec/sftp-server",
}

// FindSFTPServer returns the path of the host's OpenSSH sftp-server. The error lists where it looked.
func FindSFTPServer() (string, error) {
	return findSFTPServer(SFTPServerPaths)
}

func findSFTPServer(candidates []string) (string, error) {
	for _, p := range candidates {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("sftp-server"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("OpenSSH's sftp-server was not found (looked in %s and on PATH)", strings.Join(candidates, ", "))
}

// SFTPServerArgs are the arguments given to OpenSSH's sftp-server: -R (refuse every change) for a
// read-only mount, on top of sshfs's own ro option. Writable mounts never reach it (CheckOpenSSH).
func SFTPServerArgs(o Options) []string {
	if o.Writable {
		return nil
	}
	return []string{"-R"}
}

// ErrOpenSSHWritable refuses OpenSSH's sftp-server for a writable mount.
var ErrOpenSSHWritable = errors.New("sshfs.sftpDriver " + DriverOpenSSH + " is refused for a writable mount: it serves the whole host file system, " +
	"so the guest could change any file the user can; use sftpDriver " + DriverBuiltin + " (limited to the mount's folder), or make the mount read-only")

// CheckOpenSSH refuses what OpenSSH's sftp-server cannot confine. It has no root directory: the
// guest's sshfs asks for the mount's folder, but may ask for any other host path, which only -R
// (read-only) and the user's permissions limit. So it serves read-only mounts only.
func CheckOpenSSH(o Options) error {
	if o.SFTPDriver == DriverOpenSSH && o.Writable {
		return fmt.Errorf("reverse-sshfs: mount %s: %w", o.MountPoint, ErrOpenSSHWritable)
	}
	return nil
}

// OpenSSHExposure says, for the host agent's log, what a mount served by OpenSSH's sftp-server
// shows the guest; "" for other drivers.
func OpenSSHExposure(o Options) string {
	if o.SFTPDriver != DriverOpenSSH {
		return ""
	}
	return "uses " + DriverOpenSSH + ": the guest can read any host file the user can read, not only " + o.Location + " (it cannot change any: sftp-server -R)"
}

// serveOpenSSH runs the sftp-server binary at path on the session's pipes. It returns once the
// server runs; kill ends it and waits for it.
func serveOpenSSH(path string, o Options, fromGuest io.Reader, toGuest io.WriteCloser) (kill func(), err error) {
	if err := CheckOpenSSH(o); err != nil {
		return nil, err
	}
	cmd := exec.Command(path, SFTPServerArgs(o)...)
	cmd.Stdin = fromGuest
	cmd.Stdout = toGuest
	var stderr lockedBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("reverse-sshfs: cannot run %s (sshfs.sftpDriver %s): %w", path, DriverOpenSSH, err)
	}
	done := make(chan struct{})
	go func() {
		err := cmd.Wait()
		_ = toGuest.Close()
		if err != nil && !errors.Is(err, os.ErrProcessDone) && stderr.String() != "" {
			// sftp-server only talks on stderr when something is wrong.
			logrus.Warnf("reverse-sshfs: %s for %s: %v: %s", path, o.MountPoint, err, strings.TrimSpace(stderr.String()))
		}
		close(done)
	}()
	return func() {
		_ = cmd.Process.Kill()
		<-done
	}, nil
}
