package guestagent

// Spare shells: starting bash is most of a short command's time in an emulated guest (about 50 ms
// under TCG), so the guest agent starts the shell for the next command ahead of it, with what the
// last request gave (user, groups, environment, directory, cgroup), and hands it the command line
// when the request comes. The spare runs
//
//	bash -c 'IFS= read -r _lima_go <&4 || exit 0; IFS= read -r -d "" _lima_line <&3; exec 3<&- 4<&-; unset _lima_go; eval "$_lima_line"'
//
// fd 3 is a memfd (seekable, so bash reads it in blocks, not a byte at a time as from a pipe) that
// receives the line, fd 4 a pipe that says when it is there; EOF on fd 4 (an unused spare being
// discarded) makes the spare exit. The line runs as `bash -c LINE` would run it: same $0,
// options, environment, file descriptors, error messages ("bash: line 1: ...") and exit status.
// bash execs the last command of a -c string but never the last command of an eval, so the line
// must exec its command itself: only `limactl shell`'s lines with the login environment cache do
// (sshutil's execDecision), and only those (api.ExecRequest.Spare) go to a spare. What bash reads
// when it starts (Debian's bash reads ~/.bashrc when SSH_CLIENT is set) is read when the spare
// starts, so a spare older than those files is not used.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// spareStub is the spare's command (see above).
const spareStub = `IFS= read -r _lima_go <&4 || exit 0; IFS= read -r -d "" _lima_line <&3; exec 3<&- 4<&-; unset _lima_go; eval "$_lima_line"`

// spareShells holds at most one spare, for the request kind used last.
type spareShells struct {
	mu     sync.Mutex
	spare  *spareShell
	closed bool
	used   atomic.Int64 // commands run by a spare, for tests
}

type spareShell struct {
	key     string
	c       *execCmd
	line    *os.File // the spare's fd 3, a memfd
	goPipe  *os.File // the write end of the spare's fd 4
	started time.Time
	home    string
}

// spareKey identifies what a spare must have been started with to run req, and whether req can
// have one: a line that execs its command itself (req.Spare), for bash.
func spareKey(req api.ExecRequest) (string, bool) {
	if !req.Spare || filepath.Base(req.Shell) != "bash" {
		return "", false
	}
	req.Command = ""
	b, err := json.Marshal(req)
	return string(b), err == nil
}

// take starts req's command: in the spare when there is one of the same kind and it is fresh,
// else as a shell of its own; either way it starts a spare for the next request like this one.
func (p *spareShells) take(req api.ExecRequest) (*execCmd, error) {
	key, ok := spareKey(req)
	if !ok {
		return startExec(req)
	}
	p.mu.Lock()
	sp := p.spare
	p.spare = nil
	p.mu.Unlock()
	var c *execCmd
	if sp != nil {
		if sp.key == key && sp.fresh() {
			if c = sp.run(req.Command); c != nil {
				p.used.Add(1)
			}
		} else {
			sp.discard()
		}
	}
	go p.refill(req, key)
	if c != nil {
		return c, nil
	}
	return startExec(req)
}

// refill starts a spare for requests like req, unless one is there already.
func (p *spareShells) refill(req api.ExecRequest, key string) {
	p.mu.Lock()
	skip := p.closed || p.spare != nil
	p.mu.Unlock()
	if skip {
		return
	}
	sp, err := startSpare(req, key)
	if err != nil {
		logrus.WithError(err).Debug("exec: cannot start a spare shell")
		return
	}
	p.mu.Lock()
	if p.closed || p.spare != nil {
		p.mu.Unlock()
		sp.discard()
		return
	}
	p.spare = sp
	p.mu.Unlock()
}

func startSpare(req api.ExecRequest, key string) (*spareShell, error) {
	line, err := memFile("lima-exec-line")
	if err != nil {
		return nil, err
	}
	goR, goW, err := os.Pipe()
	if err != nil {
		_ = line.Close()
		return nil, err
	}
	req.Command = spareStub
	started := time.Now()
	c, err := startExec(req, line, goR)
	_ = goR.Close()
	if err != nil {
		_ = line.Close()
		_ = goW.Close()
		return nil, err
	}
	return &spareShell{key: key, c: c, line: line, goPipe: goW, started: started, home: req.Dir}, nil
}

// close discards the spare and keeps new ones from being kept (the session is over).
func (p *spareShells) close() {
	p.mu.Lock()
	sp := p.spare
	p.spare, p.closed = nil, true
	p.mu.Unlock()
	if sp != nil {
		sp.discard()
	}
}

// fresh reports whether the spare started after the files bash reads at start-up last changed.
func (sp *spareShell) fresh() bool {
	for _, f := range []string{"/etc/bash.bashrc", filepath.Join(sp.home, ".bashrc")} {
		if fi, err := os.Stat(f); err == nil && !fi.ModTime().Before(sp.started) {
			return false
		}
	}
	return true
}

// run hands the spare its line; nil when the spare is gone.
func (sp *spareShell) run(line string) *execCmd {
	// pwrite: the spare shares the memfd's offset, which must stay at 0 for it.
	_, err := sp.line.WriteAt([]byte("unset _lima_line; "+line), 0)
	_ = sp.line.Close()
	if err == nil {
		_, err = sp.goPipe.Write([]byte("go\n"))
	}
	_ = sp.goPipe.Close()
	if err != nil {
		logrus.WithError(err).Debug("exec: the spare shell is gone")
		sp.c.reap()
		return nil
	}
	return sp.c
}

// discard ends an unused spare: EOF on fd 4 makes it exit; it is reaped in the background.
func (sp *spareShell) discard() {
	_ = sp.line.Close()
	_ = sp.goPipe.Close()
	sp.c.reap()
}
