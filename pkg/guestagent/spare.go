package guestagent

// Spare shells: starting bash is most of a short command's time in an emulated guest (about 50 ms
// under TCG), so once a command ends, the guest agent starts the shell for the next command, with
// what that request gave (user, groups, environment, directory, cgroup, limits), and hands it the
// next command line when the request comes. The spare runs
//
//	bash -c 'IFS= read -r _lima_go <&11 || exit 0; IFS= read -r -d "" _lima_line <&10 && [ "$_lima_go" = go ] || exit 255; exec 10<&- 11<&-; unset _lima_go; eval "$_lima_line"'
//
// fd 10 is a memfd (seekable, so bash reads it in blocks, not a byte at a time as from a pipe)
// that receives the line and a NUL, fd 11 a pipe that says when it is there; EOF on fd 11 (an
// unused spare being discarded) makes the spare exit, and a line not read whole (something else
// read fd 10) makes it exit 255 without running any of it. High fds: a ~/.bashrc that bash reads
// at start (Debian's bash does when SSH_CLIENT is set) is unlikely to touch them. The line runs as
// `bash -c LINE` would run it: same $0, options, environment, file descriptors, error messages
// ("bash: line 1: ...") and exit status. bash execs the last command of a -c string but never the
// last command of an eval, so the line must exec its command itself: only `limactl shell`'s lines
// with the login environment cache do (sshutil's execDecision), and only those
// (api.ExecRequest.Spare) go to a spare. What bash reads when it starts is read when the spare
// starts, so a spare older than /etc/bash.bashrc or ~/.bashrc is not used.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/guestagent/api"
)

// spareStub is the spare's command (see above).
const spareStub = `IFS= read -r _lima_go <&11 || exit 0; IFS= read -r -d "" _lima_line <&10 && [ "$_lima_go" = go ] || exit 255; exec 10<&- 11<&-; unset _lima_go; eval "$_lima_line"`

// spareLineFd and spareGoFd are the spare's fds for the line and the go-ahead.
const (
	spareLineFd = 10
	spareGoFd   = 11
)

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
	line    *os.File // the spare's fd 10, a memfd
	goPipe  *os.File // the write end of the spare's fd 11
	started time.Time
	home    string
	records string // the login environment records' directory (sshutil's loginEnvDir)
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
// else as a shell of its own. Either way it starts a spare for the next command like this one,
// in the background.
func (p *spareShells) take(req api.ExecRequest) (*execCmd, error) {
	key, ok := spareKey(req)
	if !ok {
		return startExec(req)
	}
	p.mu.Lock()
	sp := p.spare
	p.spare = nil
	p.mu.Unlock()
	go p.refill(req)
	if sp != nil {
		if sp.key == key && sp.fresh() {
			if c := sp.run(fullLine(req)); c != nil {
				p.used.Add(1)
				return c, nil
			}
		} else {
			sp.discard()
		}
	}
	return startExec(req)
}

// refill starts a spare for requests like req, unless a fresh one is there already or req cannot
// have one.
func (p *spareShells) refill(req api.ExecRequest) {
	key, ok := spareKey(req)
	if !ok {
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	if old := p.spare; old != nil {
		if old.key == key && old.fresh() {
			p.mu.Unlock()
			return
		}
		p.spare = nil
		defer old.discard()
	}
	p.mu.Unlock()
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
	req.Command, req.Umask = spareStub, nil // the umask comes with the line
	started := time.Now()
	extra := make([]*os.File, spareGoFd-2) // fds 3 and up; nil ones are closed in the spare
	extra[spareLineFd-3], extra[spareGoFd-3] = line, goR
	c, err := startExec(req, extra...)
	_ = goR.Close()
	if err != nil {
		_ = line.Close()
		_ = goW.Close()
		return nil, err
	}
	return &spareShell{key: key, c: c, line: line, goPipe: goW, started: started, home: req.Dir, records: recordsDir(req.Env)}, nil
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

// fresh reports whether the spare started after the files bash reads at start-up last changed,
// and after the last change to the login environment records (the line takes a record newer
// than its shell for one from the future, and runs the login shell).
func (sp *spareShell) fresh() bool {
	for _, f := range []string{"/etc/bash.bashrc", filepath.Join(sp.home, ".bashrc"), sp.records} {
		if fi, err := os.Stat(f); err == nil && !fi.ModTime().Before(sp.started) {
			return false
		}
	}
	return true
}

// run hands the spare its line; nil when the spare is gone.
func (sp *spareShell) run(line string) *execCmd {
	// pwrite: the spare shares the memfd's offset, which must stay at 0 for it. The NUL tells the
	// spare it read the line whole.
	_, err := sp.line.WriteAt([]byte("unset _lima_line; "+line+"\x00"), 0)
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

// discard ends an unused spare: EOF on fd 11 makes it exit; it is reaped in the background.
func (sp *spareShell) discard() {
	_ = sp.line.Close()
	_ = sp.goPipe.Close()
	sp.c.reap()
}

// loginEnvDirName is sshutil.LoginEnvDirName (the guest agent does not link sshutil).
const loginEnvDirName = "lima-shellenv"

// recordsDir is where the line keeps its login environment records for env:
// ${XDG_RUNTIME_DIR:-$HOME/.cache}/lima-shellenv.
func recordsDir(env []string) string {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	if d := vars["XDG_RUNTIME_DIR"]; d != "" {
		return filepath.Join(d, loginEnvDirName)
	}
	return filepath.Join(vars["HOME"], ".cache", loginEnvDirName)
}
