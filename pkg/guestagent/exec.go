package guestagent

// Exec streams (the protocol is in package api, exec.go): the host asks the guest agent to run a
// command of `limactl shell` without a terminal, in the environment, identity and cgroup of the
// host agent's own SSH session, so the command does not pay for an sshd session of its own.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// serveExec reads an exec stream's header, starts the command and relays its stdin, stdout,
// stderr and exit until it has exited and its output is closed, or until the host aborts the
// stream. Then it starts a spare shell for the next command like this one (spare.go).
func (s *tunnelServer) serveExec(st *yamux.Stream) {
	_ = st.SetReadDeadline(time.Now().Add(tunnelRequestTimeout))
	req, err := api.ReadExecRequest(st)
	_ = st.SetReadDeadline(time.Time{})
	if err == nil && strings.ContainsRune(req.Command, 0) {
		err = errors.New("exec: the command holds a NUL byte") // execve would refuse it
	}
	if err != nil {
		_, _ = io.WriteString(st, api.TunnelReply(err, false))
		return
	}
	c, err := s.spares.take(req)
	if err != nil {
		logrus.WithError(err).Debug("exec: cannot start the command")
		_, _ = io.WriteString(st, api.TunnelReply(err, false))
		return
	}
	defer s.spares.refill(req) // when the spare started at take was not kept
	defer s.track(st.StreamID(), c)()
	if _, err := io.WriteString(st, api.TunnelReply(nil, false)); err != nil {
		// The host did not learn that the command runs, and may run it over SSH: stop it.
		_ = c.cmd.Process.Kill()
		c.reap()
		return
	}
	c.relay(st)
}

// execCmd is a started command and the host's ends of its pipes.
type execCmd struct {
	cmd            *exec.Cmd
	stdin          io.WriteCloser
	stdout, stderr io.ReadCloser
	closeOnce      sync.Once
	aborted        atomic.Bool
}

// startExec starts req's command with pipes for stdin, stdout and stderr, in req's cgroup (a
// command that cannot go there, because the session is gone, is refused: the host then runs it
// over SSH, in a session of its own). extra become the command's fds from 3 on (nil ones closed).
func startExec(req api.ExecRequest, extra ...*os.File) (*execCmd, error) {
	cmd, cleanup, err := execCommand(req)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	cmd.ExtraFiles = extra
	c := &execCmd{cmd: cmd}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	if c.stdout, err = cmd.StdoutPipe(); err != nil {
		return nil, err
	}
	if c.stderr, err = cmd.StderrPipe(); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	// Right after the exec, while the shell is still starting: no way to set them before it.
	setLimits(cmd.Process.Pid, req.Limits, req.OOMScoreAdj)
	return c, nil
}

// Close is the host's abort: it closes the command's pipes (the command goes on, and sees EOF on
// stdin and EPIPE on writes, as when sshd's channel goes) and ends the stream without waiting for
// the command.
func (c *execCmd) Close() error {
	c.aborted.Store(true)
	c.closePipes()
	return nil
}

func (c *execCmd) closePipes() {
	c.closeOnce.Do(func() {
		_ = c.stdin.Close()
		_ = c.stdout.Close()
		_ = c.stderr.Close()
	})
}

// signal sends the command the signal SSH names name (a "signal" request, api/tunnel.go).
func (c *execCmd) signal(name string) { signalCmd(c, name) }

// relay runs the stream until the command has exited and closed its output, then sends its exit;
// after an abort it returns as soon as the output is closed, and the command is reaped later.
func (c *execCmd) relay(st *yamux.Stream) {
	var wmu sync.Mutex
	write := func(typ byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return api.WriteExecFrame(st, typ, p)
	}
	go c.fromHost(st)
	var out sync.WaitGroup
	for _, o := range []struct {
		r   io.Reader
		typ byte
	}{{c.stdout, api.ExecStdout}, {c.stderr, api.ExecStderr}} {
		out.Go(func() {
			buf := make([]byte, api.MaxExecFrame)
			for {
				n, err := o.r.Read(buf)
				if n > 0 && write(o.typ, buf[:n]) != nil {
					_ = c.Close() // the host is gone
					return
				}
				if err != nil {
					return
				}
			}
		})
	}
	out.Wait()
	if c.aborted.Load() {
		go func() { _ = c.cmd.Wait() }()
		return
	}
	typ, p := exitFrame(c.cmd.Wait())
	_ = write(typ, p)
}

// fromHost writes the host's stdin frames to the command until the host's side ends or breaks
// the protocol; then the command's stdin is closed. It may block on a command that does not read
// its stdin: signals come on streams of their own.
func (c *execCmd) fromHost(st io.Reader) {
	defer func() { _ = c.stdin.Close() }()
	buf := make([]byte, api.MaxExecFrame)
	for {
		typ, p, err := api.ReadExecFrame(st, buf)
		if err != nil {
			return
		}
		switch typ {
		case api.ExecStdin:
			if _, err := c.stdin.Write(p); err != nil {
				_ = c.stdin.Close() // the command closed its stdin: drop the rest
			}
		case api.ExecStdinEOF:
			_ = c.stdin.Close()
		}
	}
}

// exitFrame turns Wait's result into the exit frame.
func exitFrame(err error) (byte, []byte) {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			name := signalName(ws.Signal())
			if ws.CoreDump() {
				name += " core"
			}
			return api.ExecExitSignal, []byte(name)
		}
		return api.ExecExit, []byte(strconv.Itoa(ee.ExitCode()))
	}
	if err != nil {
		logrus.WithError(err).Debug("exec: waiting for the command")
		return api.ExecExit, []byte("255")
	}
	return api.ExecExit, []byte("0")
}

// fullLine is the line req's shell runs: req.Command, after "umask NNNN; " when req.Umask is set.
func fullLine(req api.ExecRequest) string {
	if req.Umask == nil {
		return req.Command
	}
	return fmt.Sprintf("umask %04o; ", *req.Umask&0o777) + req.Command
}

// reap closes the pipes of a command that will not be relayed and waits for it in the
// background.
func (c *execCmd) reap() {
	c.closePipes()
	go func() { _ = c.cmd.Wait() }()
}
