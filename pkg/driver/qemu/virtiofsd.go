package qemu

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"
)

// startVirtiofsd starts one virtiofsd (its output going to logf), waits until it listens on its
// socket, and returns a function that kills it and waits for its end. It does not connect to test the socket: virtiofsd serves a single connection and exits when
// that closes. A virtiofsd that exits first (the C virtiofsd of QEMU <= 7.2 needs root, for example)
// is reported at once with the end of its output, instead of after the launch timeout.
// With v.ReadOnlyBind set it runs in a mount namespace where that folder is read-only
// (startReadOnlyBound); if that cannot be set up, virtiofsd is not started.
func startVirtiofsd(ctx context.Context, v VirtiofsdProcess, logf *os.File, logPath string) (stop func(), err error) {
	var start int64
	if st, err := logf.Stat(); err == nil {
		start = st.Size()
	}
	cmd := exec.Command(v.Binary, v.Args...)
	cmd.Stdout, cmd.Stderr, cmd.SysProcAttr = logf, logf, detached()
	var waited <-chan error
	if v.ReadOnlyBind != "" {
		if waited, err = startReadOnlyBound(cmd, v.ReadOnlyBind); err != nil {
			return nil, fmt.Errorf("virtiofsd for the read-only mount %s: cannot start it where the folder is read-only (a read-only bind mount in a private mount namespace): %w; use mountType 9p, or make the mount writable", v.ReadOnlyBind, err)
		}
	} else {
		if err := cmd.Start(); err != nil {
			return nil, fmt.Errorf("starting virtiofsd %s: %w", v.Binary, err)
		}
		w := make(chan error, 1)
		go func() { w <- cmd.Wait() }()
		waited = w
	}
	exited := make(chan error, 1)
	done := make(chan struct{})
	go func() { exited <- <-waited; close(done) }()
	stop = func() {
		_ = cmd.Process.Kill()
		<-done
	}
	delay := 5 * time.Millisecond
	for {
		if _, err := os.Stat(v.Socket); err == nil {
			// The file appears at bind(); QEMU's connect is refused until listen().
			if listening, ok := unixListening(v.Socket); listening || !ok {
				return stop, nil
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			stop()
			return nil, err
		}
		select {
		case err := <-exited:
			hint := ""
			if os.Getuid() != 0 {
				hint = "; the C virtiofsd shipped with QEMU (/usr/lib/qemu/virtiofsd) must run as root: use mountType 9p, or install the Rust virtiofsd"
			}
			if err == nil {
				err = errors.New("exit status 0")
			}
			return nil, fmt.Errorf("virtiofsd exited before creating %s: %s%s: %w (%w)", v.Socket, logSince(logPath, start), hint, ErrVirtiofsd, err)
		case <-ctx.Done():
			stop()
			return nil, fmt.Errorf("virtiofsd did not create %s (see %s): %w", v.Socket, logPath, ctx.Err())
		case <-time.After(delay):
		}
		if delay < 200*time.Millisecond {
			delay *= 2
		}
	}
}

// ErrVirtiofsd marks a virtiofsd that could not start.
var ErrVirtiofsd = errors.New("virtiofsd failed")

// logSince returns what was appended to the log at path after offset, trimmed to its last 500 bytes.
func logSince(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) <= offset {
		return "no output"
	}
	s := strings.TrimSpace(string(b[offset:]))
	if len(s) > 500 {
		s = "..." + s[len(s)-500:]
	}
	return s
}

// virtiofsdHasReadOnly reports whether the virtiofsd at path lists a --readonly option in its
// --help (the Rust virtiofsd's recent versions; the C virtiofsd of QEMU has none).
func virtiofsdHasReadOnly(ctx context.Context, path string) bool {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	out, _ := exec.CommandContext(ctx, path, "--help").CombinedOutput()
	return strings.Contains(string(out), "--readonly")
}
