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

// Output runs command in a new session on client (sshd hands it to the user's login shell) with
// stdin (nil for none) and returns what it wrote. A non-zero exit is an error wrapping
// *ssh.ExitError that quotes stderr.
func Output(ctx context.Context, client *ssh.Client, command string, stdin io.Reader) (stdout, stderr []byte, err error) {
	sess, err := client.NewSession()
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open an SSH session: %w", err)
	}
	defer sess.Close()
	var o, e bytes.Buffer
	sess.Stdin, sess.Stdout, sess.Stderr = stdin, &o, &e
	stop := context.AfterFunc(ctx, func() { _ = sess.Close() })
	defer stop()
	err = sess.Run(command)
	if ctx.Err() != nil {
		return o.Bytes(), e.Bytes(), fmt.Errorf("%q: %w", command, context.Cause(ctx))
	}
	if err != nil {
		return o.Bytes(), e.Bytes(), fmt.Errorf("%q failed (stderr: %q): %w", command, strings.TrimSpace(e.String()), err)
	}
	return o.Bytes(), e.Bytes(), nil
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
