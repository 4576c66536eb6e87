package hostagent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/sshutil"
)

// copyTimeout bounds the copy of one copyToHost file.
const copyTimeout = 2 * time.Minute

// copyToHostMax bounds the size of one copyToHost file (docs/security.md, "Bounds"): the guest
// decides what the file holds, and copyToHost is meant for kubeconfigs, certificates, sockets'
// credentials; `limactl copy` is the way to fetch big files.
var copyToHostMax int64 = 256 << 20 // a variable for tests

// copyToHost copies every copyToHost[] guest file to its host path once the guest is ready, and
// remembers the ones to delete on stop. It returns one message per failed entry; a failure does
// not stop the others.
func (a *agent) copyToHost(ctx context.Context) []string {
	var failures []string
	for i, rule := range a.inst.Config.CopyToHost {
		copied, err := a.copyOne(ctx, rule)
		if err != nil {
			failures = append(failures, fmt.Sprintf("copyToHost[%d]: cannot copy guest file %s to %s: %v", i, rule.GuestFile, rule.HostFile, err))
			continue
		}
		if !copied {
			logrus.Infof("copyToHost: %s is missing in the guest; skipped (skipIfMissing)", rule.GuestFile)
			continue
		}
		logrus.Infof("copyToHost: copied guest file %s to %s", rule.GuestFile, rule.HostFile)
		if rule.DeleteOnStop {
			a.mu.Lock()
			a.deleteOnStop = append(a.deleteOnStop, rule.HostFile)
			a.mu.Unlock()
		}
	}
	return failures
}

// copyOne copies one file. It reports false when the guest file is missing and skipIfMissing is set.
func (a *agent) copyOne(ctx context.Context, rule limayaml.CopyToHost) (bool, error) {
	c, err := a.sshClient(ctx)
	if err != nil {
		return false, err
	}
	cctx, cancel := context.WithTimeout(ctx, copyTimeout)
	defer cancel()
	if err := os.MkdirAll(filepath.Dir(rule.HostFile), 0o755); err != nil {
		return false, err
	}
	// The file is streamed into a new version of the host file (never held in memory), committed
	// only when the whole of it arrived.
	f, err := atomicfile.Create(rule.HostFile, 0o644)
	if err != nil {
		return false, fmt.Errorf("cannot write the host file: %w", err)
	}
	defer f.Abort()
	guest := sshutil.ShellQuote(rule.GuestFile)
	stderr, err := catGuestFile(cctx, c, "LANG=C cat -- "+guest, f)
	if err != nil && isExit(err) && bytes.Contains(stderr, []byte("Permission denied")) {
		// Like Lima: a root-only file is read with sudo (non-interactive: no password prompt).
		stderr, err = catGuestFile(cctx, c, "LANG=C sudo -n cat -- "+guest, f)
	}
	if err != nil {
		if isExit(err) && bytes.Contains(stderr, []byte("No such file")) {
			if rule.SkipIfMissing {
				return false, nil
			}
			return false, errors.New("the file does not exist in the guest (set skipIfMissing: true to allow that)")
		}
		if !isExit(err) && !errors.Is(err, errTooLarge) {
			a.closeSSH()
		}
		return false, err
	}
	if err := f.Commit(); err != nil {
		return false, fmt.Errorf("cannot write the host file: %w", err)
	}
	return true, nil
}

// errTooLarge: a copyToHost file is larger than copyToHostMax.
var errTooLarge = errors.New("file too large")

// catGuestFile runs command (a cat of the guest file) and writes its output to f from the start,
// up to copyToHostMax bytes; it returns the start of the command's stderr. An exit status is an
// error wrapping *ssh.ExitError.
func catGuestFile(ctx context.Context, c *ssh.Client, command string, f *atomicfile.File) ([]byte, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	if err := f.Truncate(0); err != nil {
		return nil, err
	}
	sess, err := c.NewSession()
	if err != nil {
		return nil, fmt.Errorf("cannot open an SSH session: %w", err)
	}
	defer sess.Close()
	// Past the limit the session is closed at once: a command whose output nobody reads would block.
	out := &limitWriter{w: f, left: copyToHostMax, over: func() { _ = sess.Close() }}
	stderr := &sshutil.LimitedBuffer{Max: 4096}
	sess.Stdout, sess.Stderr = out, stderr
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	err = sess.Run(command)
	switch {
	case out.exceeded:
		return stderr.Bytes(), fmt.Errorf("the guest file is larger than %d MiB, the most copyToHost copies; use `limactl copy` for big files: %w",
			copyToHostMax>>20, errTooLarge)
	case ctx.Err() != nil:
		return stderr.Bytes(), context.Cause(ctx)
	case err != nil:
		return stderr.Bytes(), fmt.Errorf("%w (stderr: %q)", err, strings.TrimSpace(stderr.String()))
	}
	return stderr.Bytes(), nil
}

// limitWriter passes on at most left bytes; past that it calls over and fails.
type limitWriter struct {
	w        io.Writer
	left     int64
	over     func()
	exceeded bool
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.left {
		if !l.exceeded {
			l.exceeded = true
			l.over()
		}
		return 0, errTooLarge
	}
	l.left -= int64(len(p))
	return l.w.Write(p)
}

// deleteCopiedFiles removes the host copies marked deleteOnStop.
func (a *agent) deleteCopiedFiles() {
	a.mu.Lock()
	files := a.deleteOnStop
	a.deleteOnStop = nil
	a.mu.Unlock()
	for _, f := range files {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			logrus.WithError(err).Warnf("copyToHost: cannot delete %s (deleteOnStop)", f)
			continue
		}
		logrus.Infof("copyToHost: deleted %s (deleteOnStop)", f)
	}
}

func isExit(err error) bool {
	var exitErr *ssh.ExitError
	return errors.As(err, &exitErr)
}

// withParamEnv returns a probe script that exports the instance's param as PARAM_<key> first, as
// provision scripts see them (param.env), when the script's interpreter is a POSIX shell.
func withParamEnv(script string, param map[string]string) string {
	if len(param) == 0 {
		return script
	}
	first, rest, _ := strings.Cut(script, "\n")
	interp := strings.Fields(strings.TrimPrefix(strings.TrimSpace(first), "#!"))
	if len(interp) == 0 {
		return script
	}
	shell := filepath.Base(interp[0])
	if shell == "env" && len(interp) > 1 {
		shell = interp[1]
	}
	switch shell {
	case "sh", "bash", "dash", "ash", "ksh", "zsh":
	default:
		return script
	}
	var b strings.Builder
	b.WriteString(first + "\n")
	for _, k := range slices.Sorted(maps.Keys(param)) {
		b.WriteString("export PARAM_" + k + "=" + sshutil.ShellQuote(param[k]) + "\n")
	}
	b.WriteString(rest)
	return b.String()
}
