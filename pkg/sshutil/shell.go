package sshutil

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/term"
)

// ShellOptions describes one `limactl shell` session.
type ShellOptions struct {
	// Workdir is the guest directory to start in; "" starts in the guest user's home. A failed cd
	// falls back to the home silently, unless WorkdirStrict is set (an explicit --workdir), in which
	// case the session fails with exit code 1 as in Lima.
	Workdir       string
	WorkdirStrict bool
	// Shell is the guest shell to exec; "" means the guest user's login shell ("$SHELL").
	Shell string
	// Args is the command to run; empty runs an interactive login shell.
	Args []string
	// Env is exported in the guest before the shell starts, as "NAME=value" entries. With Env, the
	// command always runs through a login shell: the environment it starts from varies.
	Env []string
	// AlwaysLogin runs Args through a real login shell (`$SHELL -l -c`) every time, instead of
	// applying the login environment cached in the guest (see ShellScript).
	AlwaysLogin bool

	Stdin          io.Reader
	Stdout, Stderr io.Writer

	// TTY requests a guest PTY. When Stdin is a terminal it is put into raw mode for the session
	// (and restored on every exit path), and window size changes are forwarded.
	TTY bool
	// Term is the terminal type for the PTY request; "" means xterm-256color.
	Term string
}

// ErrNoExitStatus is returned (with exit code 255) when the guest ends the session without
// reporting an exit status.
var ErrNoExitStatus = errors.New("the guest closed the session without an exit status")

var envNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ShellScript returns the command line RunShell sends to the guest's sshd. Without a command, or
// with Env (--preserve-env), or with AlwaysLogin, it is
//
//	[export 'K=V'; ...] cd '<workdir>' 2>/dev/null || cd; exec <shell> -l [-c '<quoted args>']
//
// Each argument is quoted (leading NAME=value ones as assignments, see commandLine) and the
// resulting command is quoted once more as the single -c argument, so spaces, quotes and `$`
// arrive as typed; both quotings leave no backslash inside single quotes (quoteNoBackslash), so
// that fish, which reads \\ and \' there as escapes, gets the same words.
//
// With a command, the guest gets instead
//
//	test -z "$version" || eval '<the line above>'; test -z "$version" || exit 127; eval '<login env script>'; <args>
//
// fish and tcsh (which set $version) run the line above as before, and never get further, even
// when that exec fails. Other shells run the login
// environment cache (loginenv.go), a POSIX script that either execs the command in a shell of its
// own or returns, and then the command itself, as the last command of the line, which bash and zsh
// exec. fish parses the whole line first, and reads \\ and \' as escapes inside single quotes: the
// script and the arguments are quoted so that no backslash is inside single quotes
// (quoteNoBackslash), or fish would fail on the line without running anything.
func ShellScript(o ShellOptions) string {
	var b strings.Builder
	for _, kv := range o.Env {
		name, _, ok := strings.Cut(kv, "=")
		if !ok || !envNameRE.MatchString(name) {
			continue
		}
		fmt.Fprintf(&b, "export %s; ", ShellQuote(kv))
	}
	var cd string
	if o.Workdir != "" {
		if o.WorkdirStrict {
			cd = fmt.Sprintf("cd %s || exit 1", ShellQuote(o.Workdir))
		} else {
			cd = fmt.Sprintf("cd %s 2>/dev/null || cd", ShellQuote(o.Workdir))
		}
		b.WriteString(cd + "; ")
	}
	sh := `"$SHELL"`
	if o.Shell != "" {
		sh = ShellQuote(o.Shell)
	}
	fmt.Fprintf(&b, "exec %s -l", sh)
	if len(o.Args) == 0 {
		return b.String()
	}
	fmt.Fprintf(&b, " -c %s", quoteNoBackslash(commandLine(o.Args, quoteNoBackslash)))
	if len(o.Env) > 0 || o.AlwaysLogin {
		return b.String()
	}
	line := cachedLinePrefix + quoteNoBackslash(b.String()) + `; test -z "$version" || exit 127` +
		"; eval " + quoteNoBackslash(cachedLoginScript(o, cd, sh)) + "; " + commandLineAt(o.Args, quoteNoBackslash, `$_lima_e`)
	if len(line) > maxCachedLine {
		return b.String()
	}
	return line
}

// cachedLinePrefix starts every line with the login environment cache.
const cachedLinePrefix = `test -z "$version" || eval `

// IsCachedLine reports whether command is a line of ShellScript with the login environment cache,
// whose last command is the user's.
func IsCachedLine(command string) bool { return strings.HasPrefix(command, cachedLinePrefix) }

// maxCachedLine bounds the line with the login environment cache, which holds the command three
// times: sshd passes the line to the shell as one argument, and Linux refuses one longer than
// 128 KiB (E2BIG). Longer commands take the plain login line, which holds it once.
const maxCachedLine = 120 << 10

// RunShell runs ShellScript(o) in a new session on client and returns the guest's exit code
// (128+n when the command was killed by signal n). err is non-nil only when the session itself
// failed; the exit code is then 255, like OpenSSH's.
func RunShell(ctx context.Context, client *ssh.Client, o ShellOptions) (int, error) {
	sess, err := client.NewSession()
	if err != nil {
		return 255, fmt.Errorf("cannot open an SSH session: %w", err)
	}
	defer sess.Close()
	sess.Stdin, sess.Stdout, sess.Stderr = o.Stdin, o.Stdout, o.Stderr
	if sess.Stdout == nil {
		sess.Stdout = io.Discard
	}
	if sess.Stderr == nil {
		sess.Stderr = io.Discard
	}

	if o.TTY {
		restore, err := setupPTY(ctx, sess, o)
		if err != nil {
			return 255, err
		}
		defer restore()
	}

	if err := sess.Start(ShellScript(o)); err != nil {
		return 255, fmt.Errorf("cannot start the command in the guest: %w", err)
	}
	stop := context.AfterFunc(ctx, func() {
		_ = sess.Signal(ssh.SIGTERM)
		_ = sess.Close()
	})
	defer stop()
	return exitCode(ctx, sess.Wait())
}

func exitCode(ctx context.Context, err error) (int, error) {
	var ee *ssh.ExitError
	var missing *ssh.ExitMissingError
	switch {
	case err == nil:
		return 0, nil
	case errors.As(err, &ee):
		return ee.ExitStatus(), nil
	case ctx.Err() != nil:
		return 255, context.Cause(ctx)
	case errors.As(err, &missing):
		return 255, ErrNoExitStatus
	}
	return 255, fmt.Errorf("SSH session failed: %w", err)
}

// setupPTY requests a guest PTY and, when Stdin is a local terminal, makes it raw and forwards
// window size changes. The returned function undoes it all; it is safe to call more than once.
func setupPTY(ctx context.Context, sess *ssh.Session, o ShellOptions) (func(), error) {
	termName := o.Term
	if termName == "" {
		termName = "xterm-256color"
	}
	inFd, inTerm := terminalFd(o.Stdin)
	sizeFd, sizeOK := terminalFd(o.Stdout)
	if !sizeOK {
		sizeFd, sizeOK = inFd, inTerm
	}
	w, h := 80, 24
	if sizeOK {
		if cw, ch, err := term.GetSize(sizeFd); err == nil && cw > 0 && ch > 0 {
			w, h = cw, ch
		}
	}
	modes := ssh.TerminalModes{
		ssh.ECHO:          1,
		ssh.TTY_OP_ISPEED: 38400,
		ssh.TTY_OP_OSPEED: 38400,
	}
	if err := sess.RequestPty(termName, h, w, modes); err != nil {
		return nil, fmt.Errorf("the guest refused a PTY: %w", err)
	}
	var undo []func()
	if inTerm {
		old, err := term.MakeRaw(inFd)
		if err != nil {
			return nil, fmt.Errorf("cannot put the terminal into raw mode: %w", err)
		}
		undo = append(undo, func() { _ = term.Restore(inFd, old) })
		// A signal that would kill us in raw mode ends the session instead, so the terminal is restored.
		undo = append(undo, onTerminate(func() { _ = sess.Close() }))
	}
	if sizeOK {
		undo = append(undo, watchWindowSize(ctx, sizeFd, w, h, func(w, h int) {
			_ = sess.WindowChange(h, w)
		}))
	}
	done := false
	return func() {
		if done {
			return
		}
		done = true
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
	}, nil
}

// terminalFd returns the descriptor behind v when it is an *os.File on a terminal.
func terminalFd(v any) (int, bool) {
	f, ok := v.(*os.File)
	if !ok || f == nil {
		return -1, false
	}
	fd := int(f.Fd())
	return fd, term.IsTerminal(fd)
}
