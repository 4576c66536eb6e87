package reversesshfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/sshutil"
)

// Options describe one reverse-sshfs mount.
type Options struct {
	Location   string // host directory (absolute)
	MountPoint string // guest directory
	Writable   bool
	// Cache keeps sshfs's cache on (sshfs.cache, default true in Lima); false adds cache=no.
	Cache bool
	// FollowSymlinks adds follow_symlinks (sshfs.followSymlinks).
	FollowSymlinks bool
	// User owns the mount point when it has to be created or is not writable by the guest user.
	User string
	// SFTPDriver picks the SFTP server (sshfs.sftpDriver): DriverBuiltin or "" for the one in this
	// process, DriverOpenSSH for the host's sftp-server binary.
	SFTPDriver string
	// SFTPServer is the sftp-server binary for DriverOpenSSH; "" finds it (FindSFTPServer).
	SFTPServer string
}

// mountWait bounds the wait for the mount to appear in the guest once sshfs runs.
const mountWait = 30 * time.Second

// Mount is a running reverse-sshfs mount: an sshfs in the guest fed by an SFTP server in this process.
type Mount struct {
	opts   Options
	client *ssh.Client
	sess   *ssh.Session
	done   chan struct{} // closed when sshfs (the session) has ended
	stderr *lockedBuffer
	err    error // the session's end; valid after done
}

// SSHFSOptions are the -o options given to the guest's sshfs.
func SSHFSOptions(o Options, nonempty bool) string {
	opts := []string{"slave", "allow_other"}
	if !o.Cache {
		opts = append(opts, "cache=no")
	}
	if o.FollowSymlinks {
		opts = append(opts, "follow_symlinks")
	}
	if !o.Writable {
		opts = append(opts, "ro")
	}
	if nonempty {
		opts = append(opts, "nonempty")
	}
	return strings.Join(opts, ",")
}

// PrepareCommand is the guest command that makes the mount point a directory the user can mount on.
func PrepareCommand(o Options) string {
	mp := sshutil.ShellQuote(o.MountPoint)
	return "if [ ! -d " + mp + " ]; then sudo mkdir -p " + mp + "; fi; " +
		"if [ ! -w " + mp + " ]; then sudo chown " + sshutil.ShellQuote(o.User) + " " + mp + "; fi; " +
		"if mountpoint -q " + mp + "; then fusermount3 -u -z " + mp + " 2>/dev/null || sudo umount -l " + mp + "; fi; true"
}

// SSHFSCommand is the guest command that runs sshfs in the foreground over the session's stdio.
func SSHFSCommand(o Options, nonempty bool) string {
	return "exec sshfs -f -o " + sshutil.ShellQuote(SSHFSOptions(o, nonempty)) + " " +
		sshutil.ShellQuote(":"+o.Location) + " " + sshutil.ShellQuote(o.MountPoint)
}

// Start mounts o.Location on o.MountPoint in the guest reached by client, and returns once the
// mount is visible there. When sshfs refuses a non-empty mount point (FUSE 2), it retries once with
// -o nonempty, as Lima does. The mount lives until Unmount, the end of client, or the guest's end.
func Start(ctx context.Context, client *ssh.Client, o Options) (*Mount, error) {
	if o.SFTPDriver == DriverOpenSSH && o.SFTPServer == "" {
		p, err := FindSFTPServer()
		if err != nil {
			return nil, fmt.Errorf("reverse-sshfs: mount %s has sshfs.sftpDriver %s: %w; install it (Debian: apt install openssh-sftp-server) or set sftpDriver to %s", o.MountPoint, DriverOpenSSH, err, DriverBuiltin)
		}
		o.SFTPServer = p
	}
	if _, _, err := sshutil.Output(ctx, client, PrepareCommand(o), nil); err != nil {
		return nil, fmt.Errorf("reverse-sshfs: preparing mount point %s: %w", o.MountPoint, err)
	}
	m, err := start(ctx, client, o, false)
	if err != nil && strings.Contains(err.Error(), "nonempty") {
		m, err = start(ctx, client, o, true)
	}
	return m, err
}

func start(ctx context.Context, client *ssh.Client, o Options, nonempty bool) (*Mount, error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, fmt.Errorf("reverse-sshfs: cannot open an SSH session: %w", err)
	}
	toGuest, err := sess.StdinPipe()
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	fromGuest, err := sess.StdoutPipe()
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	m := &Mount{opts: o, client: client, sess: sess, done: make(chan struct{}), stderr: &lockedBuffer{}}
	sess.Stderr = m.stderr
	if err := sess.Start(SSHFSCommand(o, nonempty)); err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("reverse-sshfs: starting sshfs: %w", err)
	}
	stopServer, err := serveSFTP(o, fromGuest, toGuest)
	if err != nil {
		_ = sess.Close()
		return nil, err
	}
	go func() {
		m.err = sess.Wait()
		stopServer()
		close(m.done)
	}()

	check := "mountpoint -q " + sshutil.ShellQuote(o.MountPoint)
	deadline := time.Now().Add(mountWait)
	for {
		if _, _, err := sshutil.Output(ctx, client, check, nil); err == nil {
			return m, nil
		}
		select {
		case <-m.done:
			if m.err == nil {
				m.err = errors.New("sshfs exited with status 0")
			}
			return nil, fmt.Errorf("reverse-sshfs: sshfs for %s ended before mounting (%s): %w", o.MountPoint, strings.TrimSpace(m.stderr.String()), m.err)
		case <-ctx.Done():
			_ = sess.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = sess.Close()
			return nil, fmt.Errorf("reverse-sshfs: %s did not appear as a mount in %s: %s", o.MountPoint, mountWait, strings.TrimSpace(m.stderr.String()))
		}
	}
}

// serveSFTP runs the mount's SFTP server on the session's pipes; stop ends it.
func serveSFTP(o Options, fromGuest io.Reader, toGuest io.WriteCloser) (stop func(), err error) {
	switch o.SFTPDriver {
	case DriverOpenSSH:
		return serveOpenSSH(o.SFTPServer, o, fromGuest, toGuest)
	case DriverBuiltin, "":
		server, err := NewServer(o.Location, !o.Writable)
		if err != nil {
			return nil, fmt.Errorf("reverse-sshfs: cannot serve %s: %w", o.Location, err)
		}
		go func() {
			if err := server.Serve(fromGuest, toGuest); err != nil {
				logrus.Debugf("reverse-sshfs: the SFTP server for %s ended: %v", o.Location, err)
			}
			_ = server.Close()
			_ = toGuest.Close()
		}()
		// stop runs once the session has ended: Serve ends with its input.
		return func() { _ = toGuest.Close() }, nil
	}
	return nil, fmt.Errorf("reverse-sshfs: unknown sshfs.sftpDriver %q: use %s or %s", o.SFTPDriver, DriverBuiltin, DriverOpenSSH)
}

// Done is closed when sshfs has ended (unmounted, killed, or the connection closed).
func (m *Mount) Done() <-chan struct{} { return m.done }

// Unmount unmounts in the guest (fusermount3 -u, which ends sshfs) and waits for the session to end;
// if the guest does not answer, the session is closed.
func (m *Mount) Unmount(ctx context.Context) error {
	mp := sshutil.ShellQuote(m.opts.MountPoint)
	_, _, err := sshutil.Output(ctx, m.client, "fusermount3 -u "+mp+" || sudo umount "+mp, nil)
	select {
	case <-m.done:
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
	}
	_ = m.sess.Close()
	if err != nil {
		return fmt.Errorf("reverse-sshfs: unmounting %s: %w", m.opts.MountPoint, err)
	}
	return nil
}

// lockedBuffer collects sshfs's stderr for error messages.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64<<10 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
