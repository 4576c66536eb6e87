package hostagent

// Commands without a terminal through the guest agent: the SSH mux (sshmux.go) hands a session
// whose first request is "exec" of a `limactl shell` line with the login environment cache
// (sshutil.IsCachedLine) to the guest agent's tunnel (api/exec.go) instead of the guest's sshd,
// when the tunnel is up and the mux's own SSH session to the guest has told what the guest
// agent needs to run the command as that session would: its environment (what sshd and PAM gave
// it), the user's IDs and shell, and its cgroup (the session's scope). The command line is the
// same one the client would have run over SSH, so the login environment, working directory and
// exit codes follow the same script; only sshd's per-session work is saved. Anything missing or
// refused sends the session to sshd as before.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sirupsen/logrus"
	"golang.org/x/crypto/ssh"

	"github.com/limactl/limactl/pkg/guestagent/api"
	"github.com/limactl/limactl/pkg/portfwd"
	"github.com/limactl/limactl/pkg/sshutil"
	"github.com/limactl/limactl/pkg/textutil"
)

// execBase is what a command run by the guest agent takes from the mux's SSH session.
type execBase struct {
	uid, gid uint32
	groups   []uint32
	shell    string
	home     string
	env      []string
	cgroup   string
	limits   []api.ExecLimit
	oomAdj   *int
	umask    *uint32
}

const (
	execBaseBegin = "LIMA-EXEC-BASE\x00"
	execBaseEnd   = "\x00LIMA-EXEC-END\x00"
	// execBaseMax bounds what the guest may answer (an environment and a few lines).
	execBaseMax = 1 << 20
	// execBaseMaxVars bounds the number of environment variables taken.
	execBaseMaxVars = 4096
)

// execBaseTimeout bounds the session that learns it (a variable for tests).
var execBaseTimeout = 30 * time.Second

// execBaseScript prints the session shell's environment as sshd gave it (the shell's own, not a
// child's: the trailing ":" keeps the shell from replacing itself with cat), then the user's IDs,
// the session's cgroup, its resource limits, its OOM score adjustment (sshd resets its own for
// sessions; the guest agent's is lower) and its umask (pam_umask's, say). The command
// substitution of the last line keeps the shell from replacing itself with a command.
const execBaseScript = `printf 'LIMA-EXEC-BASE\0'; cat /proc/$$/environ; printf '\0LIMA-EXEC-END\0'; id -u; id -g; id -G; cat /proc/$$/cgroup /proc/$$/limits; sed 's/^/oom_score_adj /' /proc/$$/oom_score_adj; echo "umask $(umask)"`

// captureExecBase asks the guest, over c, for a command's execBase.
func captureExecBase(c *ssh.Client) (*execBase, error) {
	sess, err := c.NewSession()
	if err != nil {
		return nil, err
	}
	defer sess.Close()
	// A guest that never ends the session must not hold this goroutine: closing it ends the read.
	stop := time.AfterFunc(execBaseTimeout, func() { _ = sess.Close() })
	defer stop.Stop()
	out, err := sess.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := sess.Start(execBaseScript); err != nil {
		return nil, err
	}
	b, err := io.ReadAll(io.LimitReader(out, execBaseMax+1))
	if err != nil {
		return nil, err
	}
	if len(b) > execBaseMax {
		return nil, fmt.Errorf("more than %d bytes", execBaseMax)
	}
	if err := sess.Wait(); err != nil {
		return nil, err
	}
	return parseExecBase(b)
}

// parseExecBase reads execBaseScript's output (the guest's: checked, never trusted).
func parseExecBase(b []byte) (*execBase, error) {
	_, rest, ok := bytes.Cut(b, []byte(execBaseBegin))
	if !ok {
		return nil, errors.New("no environment in the answer")
	}
	environ, tail, ok := bytes.Cut(rest, []byte(execBaseEnd))
	if !ok {
		return nil, errors.New("the environment has no end")
	}
	var base execBase
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if len(kv) == 0 {
			continue
		}
		k, v, ok := strings.Cut(string(kv), "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("bad environment entry %q", textutil.Line(string(kv), 64))
		}
		if len(base.env) == execBaseMaxVars {
			return nil, fmt.Errorf("more than %d environment variables", execBaseMaxVars)
		}
		base.env = append(base.env, string(kv))
		switch k {
		case "SHELL":
			base.shell = v
		case "HOME":
			base.home = v
		}
	}
	if !path.IsAbs(base.shell) {
		return nil, fmt.Errorf("the login shell %q is not an absolute path", textutil.Line(base.shell, 64))
	}
	if !path.IsAbs(base.home) {
		base.home = "/"
	}
	lines := strings.Split(strings.TrimRight(string(tail), "\n"), "\n")
	if len(lines) < 3 {
		return nil, errors.New("no user IDs in the answer")
	}
	ids := func(s string) ([]uint32, error) {
		var res []uint32
		for _, f := range strings.Fields(s) {
			n, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("bad ID %q", textutil.Line(f, 64))
			}
			res = append(res, uint32(n))
		}
		return res, nil
	}
	uid, err := ids(lines[0])
	if err != nil || len(uid) != 1 {
		return nil, fmt.Errorf("bad user ID %q", textutil.Line(lines[0], 64))
	}
	gid, err := ids(lines[1])
	if err != nil || len(gid) != 1 {
		return nil, fmt.Errorf("bad group ID %q", textutil.Line(lines[1], 64))
	}
	if base.groups, err = ids(lines[2]); err != nil {
		return nil, err
	}
	base.uid, base.gid = uid[0], gid[0]
	for _, l := range lines[3:] {
		if p, ok := strings.CutPrefix(l, "0::"); ok && path.IsAbs(p) && path.Clean(p) == p {
			base.cgroup = p
		}
		if lim, ok := parseProcLimit(l); ok {
			base.limits = append(base.limits, lim)
		}
		if v, ok := strings.CutPrefix(l, "umask "); ok {
			if n, err := strconv.ParseUint(v, 8, 32); err == nil && n <= 0o777 {
				m := uint32(n)
				base.umask = &m
			}
		}
		if v, ok := strings.CutPrefix(l, "oom_score_adj "); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= -1000 && n <= 1000 {
				base.oomAdj = &n
			}
		}
	}
	return &base, nil
}

// parseProcLimit reads a line of /proc/PID/limits ("Max open files  1024  524288  files").
func parseProcLimit(line string) (api.ExecLimit, bool) {
	for name, res := range api.ProcLimitNames {
		rest, ok := strings.CutPrefix(line, name+" ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			return api.ExecLimit{}, false
		}
		val := func(s string) (uint64, bool) {
			if s == "unlimited" {
				return api.RlimInfinity, true
			}
			n, err := strconv.ParseUint(s, 10, 64)
			return n, err == nil
		}
		soft, ok1 := val(f[0])
		hard, ok2 := val(f[1])
		return api.ExecLimit{Resource: res, Soft: soft, Hard: hard}, ok1 && ok2 && soft <= hard
	}
	return api.ExecLimit{}, false
}

// errNoExec: the guest agent cannot run commands now; the session goes to sshd.
var errNoExec = errors.New("the guest agent cannot run commands now")

// guestExec runs commands through the tunnel with the base of the mux's connection.
type guestExec struct {
	tunnel func() *portfwd.Tunnel
	mu     sync.Mutex
	base   *execBase
	client *ssh.Client // the connection base comes from
	// capturing is set once a capture started on client (it is tried once per connection).
	capturing bool
}

// setClient starts over with a new connection to the guest: its base is learnt on the first
// command that needs it.
func (g *guestExec) setClient(c *ssh.Client) {
	g.mu.Lock()
	g.base, g.client, g.capturing = nil, c, false
	g.mu.Unlock()
}

// start asks the guest agent to run command; the stream carries its frames. Without a base yet,
// it starts learning it (one SSH session, in the background) and returns errNoExec, so the first
// command after a connection goes to sshd.
func (g *guestExec) start(ctx context.Context, command string) (net.Conn, error) {
	if !sshutil.IsCachedLine(command) || strings.ContainsRune(command, 0) {
		// Only `limactl shell`'s own lines: other clients' commands (guest-install restarting the
		// guest agent, copy's helpers) keep sshd, which outlives the guest agent. sshd refuses a
		// NUL, and so would the guest agent.
		return nil, errNoExec
	}
	var t *portfwd.Tunnel
	if g.tunnel != nil {
		t = g.tunnel()
	}
	if t == nil || !t.Up() {
		return nil, errNoExec
	}
	g.mu.Lock()
	base, c := g.base, g.client
	learn := base == nil && c != nil && !g.capturing
	if learn {
		g.capturing = true
	}
	g.mu.Unlock()
	if learn {
		go func() {
			base, err := captureExecBase(c)
			if err != nil {
				logrus.WithError(err).Debug("SSH mux: no commands through the guest agent on this connection")
			}
			g.mu.Lock()
			if g.client == c {
				g.base = base // nil after an error: no second try on this connection
			}
			g.mu.Unlock()
		}()
	}
	if base == nil {
		return nil, errNoExec
	}
	st, err := t.Exec(ctx, api.ExecRequest{
		UID: base.uid, GID: base.gid, Groups: base.groups,
		Shell: base.shell, Command: command, Env: base.env, Dir: base.home, Cgroup: base.cgroup,
		Limits: base.limits, OOMScoreAdj: base.oomAdj, Umask: base.umask, Spare: true,
	})
	if err != nil && !errors.Is(err, portfwd.ErrTunnelDown) && !errors.Is(err, portfwd.ErrNoReply) {
		// The guest agent refused (an older one, or it cannot start commands as this session
		// would): commands on this connection go to sshd from now on.
		logrus.WithError(err).Debug("SSH mux: the guest agent refused a command; commands on this connection go to sshd")
		g.mu.Lock()
		if g.base == base {
			g.base = nil
		}
		g.mu.Unlock()
	}
	return st, err
}

// session serves a client's session channel: through the guest agent when its first request is
// "exec" (no terminal asked for) and the guest agent runs the command, else through the guest's
// sshd with that first request replayed.
func (m *sshMux) session(nc ssh.NewChannel) {
	cch, creqs, err := nc.Accept()
	if err != nil {
		return
	}
	first, ok := <-creqs
	if !ok {
		_ = cch.Close()
		return
	}
	if first.Type == "exec" {
		var p struct{ Command string }
		if err := ssh.Unmarshal(first.Payload, &p); err == nil {
			st, err := m.guest.exec.start(m.ctx, p.Command)
			switch {
			case err == nil:
				if first.WantReply {
					_ = first.Reply(true, nil)
				}
				relayExec(cch, creqs, st)
				return
			case errors.Is(err, portfwd.ErrNoReply):
				// The command may run in the guest: running it through sshd could run it twice.
				// The client sees the session fail (255), as when sshd dies.
				logrus.WithError(err).Warn("SSH mux: the guest agent did not say whether it runs the command")
				if first.WantReply {
					_ = first.Reply(false, nil)
				}
				go ssh.DiscardRequests(creqs)
				_ = cch.Close()
				return
			case !errors.Is(err, errNoExec):
				logrus.WithError(err).Debug("SSH mux: the guest agent did not run the command; running it through sshd")
			}
		}
	}
	gch, greqs, err := m.openGuest(nc)
	if err != nil {
		if first.WantReply {
			_ = first.Reply(false, nil)
		}
		go ssh.DiscardRequests(creqs)
		_ = cch.Close()
		return
	}
	ok, err = gch.SendRequest(first.Type, first.WantReply, first.Payload)
	if first.WantReply {
		_ = first.Reply(ok && err == nil, nil)
	}
	relayChannel(cch, creqs, gch, greqs)
}

// execDrainTimeout bounds the wait for the end of the guest's side of an exec stream after its
// exit frame.
const execDrainTimeout = 5 * time.Second

// relayExec relays a session between the client's channel and the guest agent's exec stream: the
// client's stdin and signals as frames, the guest's output frames as data and extended data, and
// its exit frame as "exit-status" or "exit-signal" (none when the stream ends or breaks the
// protocol before it, as when sshd dies: the client then reports no exit status).
func relayExec(cch ssh.Channel, creqs <-chan *ssh.Request, st net.Conn) {
	defer func() { _ = st.Close() }()
	var wmu sync.Mutex
	write := func(typ byte, p []byte) error {
		wmu.Lock()
		defer wmu.Unlock()
		return api.WriteExecFrame(st, typ, p)
	}
	go func() { // the client's stdin, then its EOF
		buf := make([]byte, api.MaxExecFrame)
		for {
			n, err := cch.Read(buf)
			if n > 0 && write(api.ExecStdin, buf[:n]) != nil {
				return
			}
			if errors.Is(err, io.EOF) {
				_ = write(api.ExecStdinEOF, nil)
			}
			if err != nil {
				return
			}
		}
	}()
	sig, _ := st.(interface{ Signal(string) error })
	go func() { // signals; the requests end when the client closes the channel
		for r := range creqs {
			ok := false
			var p struct{ Signal string }
			if r.Type == "signal" && sig != nil && ssh.Unmarshal(r.Payload, &p) == nil {
				ok = sig.Signal(p.Signal) == nil
			}
			if r.WantReply {
				_ = r.Reply(ok, nil)
			}
		}
		_ = st.Close() // aborts the stream when the command still runs
	}()
	exitType, exitPayload := readExecOutput(cch, st)
	_ = cch.CloseWrite()
	if exitType != "" {
		_, _ = cch.SendRequest(exitType, false, exitPayload)
	}
	_ = cch.Close()
	// The guest ends its side right after the exit frame; reading to that end tells the tunnel
	// the stream is over (no abort needed).
	_ = st.SetReadDeadline(time.Now().Add(execDrainTimeout))
	_, _ = io.Copy(io.Discard, io.LimitReader(st, api.MaxExecFrame))
}

// readExecOutput copies the guest's output frames to the client until the exit frame, and returns
// the SSH request that reports the exit ("" when there was none).
func readExecOutput(cch ssh.Channel, st io.Reader) (string, []byte) {
	buf := make([]byte, api.MaxExecFrame)
	for {
		typ, p, err := api.ReadExecFrame(st, buf)
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				logrus.WithError(err).Debug("SSH mux: the guest agent's command stream broke")
			}
			return "", nil
		}
		switch typ {
		case api.ExecStdout:
			if _, err := cch.Write(p); err != nil {
				return "", nil // the client is gone
			}
		case api.ExecStderr:
			if _, err := cch.Stderr().Write(p); err != nil {
				return "", nil
			}
		case api.ExecExit:
			n, err := strconv.ParseUint(string(p), 10, 8)
			if err != nil {
				logrus.Debugf("SSH mux: the guest agent sent a bad exit status %q", textutil.Line(string(p), 64))
				return "", nil
			}
			return "exit-status", ssh.Marshal(struct{ Status uint32 }{uint32(n)})
		case api.ExecExitSignal:
			name, core := strings.CutSuffix(string(p), " core")
			if name == "" || len(name) > 16 || strings.ContainsFunc(name, func(r rune) bool { return (r < 'A' || r > 'Z') && (r < '0' || r > '9') }) {
				logrus.Debugf("SSH mux: the guest agent sent a bad exit signal %q", textutil.Line(string(p), 64))
				return "", nil
			}
			return "exit-signal", ssh.Marshal(struct {
				Signal     string
				CoreDumped bool
				Error      string
				Lang       string
			}{name, core, "", ""})
		default:
			logrus.Debugf("SSH mux: the guest agent sent a frame of unknown type %q", typ)
			return "", nil
		}
	}
}
