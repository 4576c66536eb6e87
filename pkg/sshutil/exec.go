package sshutil

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/ssh"
)

// MaxOutput bounds what Output keeps of each of a command's streams: the guest decides how much
// its commands print (docs/security.md, "Bounds").
const MaxOutput = 1 << 20

// maxQuotedStderr bounds the stderr an error quotes.
const maxQuotedStderr = 2048

// LimitedBuffer keeps the first Max bytes written to it and counts the rest in Dropped. Writes
// never fail, so a command that prints more is not blocked. (No bytes.Buffer embedded: its
// ReadFrom would let io.Copy past the limit.)
type LimitedBuffer struct {
	buf     bytes.Buffer
	Max     int
	Dropped int64
}

func (b *LimitedBuffer) Write(p []byte) (int, error) {
	keep := min(len(p), max(b.Max-b.buf.Len(), 0))
	b.buf.Write(p[:keep])
	b.Dropped += int64(len(p) - keep)
	return len(p), nil
}

// Bytes returns what was kept.
func (b *LimitedBuffer) Bytes() []byte { return b.buf.Bytes() }

// String returns what was kept.
func (b *LimitedBuffer) String() string { return b.buf.String() }

// Output runs command in a new session on client (sshd hands it to the user's login shell) with
// stdin (nil for none) and returns what it wrote, at most MaxOutput bytes of each stream. A
// non-zero exit is an error wrapping *ssh.ExitError that quotes (the start of) stderr.
func Output(ctx context.Context, client *ssh.Client, command string, stdin io.Reader) (stdout, stderr []byte, err error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open an SSH session: %w", err)
	}
	defer sess.Close()
	o, e := &LimitedBuffer{Max: MaxOutput}, &LimitedBuffer{Max: MaxOutput}
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, o, e
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	err = sess.Run(command)
	if ctx.Err() != nil {
		return o.Bytes(), e.Bytes(), fmt.Errorf("%q: %w", command, context.Cause(ctx))
	}
	if err != nil {
		return o.Bytes(), e.Bytes(), fmt.Errorf("%q failed (stderr: %q): %w", command, quotedStderr(e.Bytes()), err)
	}
	return o.Bytes(), e.Bytes(), nil
}

// quotedStderr is the part of stderr an error quotes: trimmed, at most maxQuotedStderr bytes.
func quotedStderr(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > maxQuotedStderr {
		s = s[:maxQuotedStderr] + "..."
	}
	return s
}

// ScriptInterpreter returns the interpreter command line of a script's "#!" line, e.g.
// "/bin/bash -eu" for "#!/bin/bash -eu".
func ScriptInterpreter(script string) (string, error) {
	first, _, _ := strings.Cut(script, "\n")
	interp, ok := strings.CutPrefix(strings.TrimSpace(first), "#!")
	if !ok || strings.TrimSpace(interp) == "" {
		return "", errors.New("the script does not start with #!INTERPRETER")
	}
	return strings.TrimSpace(interp), nil
}

// ExecuteScript runs script in the guest by piping it to the interpreter named on its "#!" line,
// so the script needs no temporary file (and must not read stdin itself). description names it in
// errors.
func ExecuteScript(ctx context.Context, client *ssh.Client, script, description string) (stdout, stderr string, err error) {
	interp, err := ScriptInterpreter(script)
	if err != nil {
		return "", "", fmt.Errorf("script %q: %w", description, err)
	}
	o, e, err := Output(ctx, client, interp, strings.NewReader(script))
	if err != nil {
		return string(o), string(e), fmt.Errorf("script %q: %w", description, err)
	}
	return string(o), string(e), nil
}
