package sshutil

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestShellScript(t *testing.T) {
	tests := []struct {
		name string
		o    ShellOptions
		want string
	}{
		{"login shell", ShellOptions{}, `exec "$SHELL" -l`},
		{"command, always login", ShellOptions{Args: []string{"ls", "-la"}, AlwaysLogin: true},
			`exec "$SHELL" -l -c ''\''ls'\'' '\''-la'\'''`},
		{"command, preserved env", ShellOptions{Args: []string{"true"}, Env: []string{"A=1"}},
			`export 'A=1'; exec "$SHELL" -l -c ''\''true'\'''`},
		{"workdir", ShellOptions{Workdir: "/home/u/my dir", Shell: "/bin/bash"},
			`cd '/home/u/my dir' 2>/dev/null || cd; exec '/bin/bash' -l`},
		{"strict workdir", ShellOptions{Workdir: "/w", WorkdirStrict: true}, `cd '/w' || exit 1; exec "$SHELL" -l`},
		{"env", ShellOptions{Env: []string{"A=1 2", "bad-name=x", "B="}}, `export 'A=1 2'; export 'B='; exec "$SHELL" -l`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ShellScript(tt.o); got != tt.want {
				t.Errorf("ShellScript =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

type shellResult struct {
	Code   int
	Stdout string
	Stderr string
}

func TestRunShell(t *testing.T) {
	srv, opts := fakeGuest(t)
	client := dial(t, opts)
	sub := filepath.Join(srv.Home, "sub dir")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		o     ShellOptions
		stdin string
		want  shellResult
	}{
		{"exit code", ShellOptions{Args: []string{"sh", "-c", "exit 42"}}, "", shellResult{Code: 42}},
		{"stdout and stderr", ShellOptions{Args: []string{"sh", "-c", "echo out; echo err >&2"}}, "",
			shellResult{Stdout: "out\n", Stderr: "err\n"}},
		{"quoting", ShellOptions{Args: []string{"printf", "%s|", "a b", `it's`, `"q"`, "$HOME", "*", "x\ny"}}, "",
			shellResult{Stdout: "a b|it's|\"q\"|$HOME|*|x\ny|"}},
		{"stdin EOF", ShellOptions{Args: []string{"cat"}}, "hi\n", shellResult{Stdout: "hi\n"}},
		{"workdir", ShellOptions{Workdir: sub, Args: []string{"pwd"}}, "", shellResult{Stdout: sub + "\n"}},
		{"missing workdir falls back to home", ShellOptions{Workdir: "/does/not/exist", Args: []string{"pwd"}}, "",
			shellResult{Stdout: srv.Home + "\n"}},
		{"strict workdir fails", ShellOptions{Workdir: "/does/not/exist", WorkdirStrict: true, Args: []string{"pwd"}}, "",
			shellResult{Code: 1, Stderr: "cd"}},
		{"killed by a signal", ShellOptions{Args: []string{"sh", "-c", "exec 2>/dev/null; sh -c 'kill -TERM $$'"}}, "",
			shellResult{Code: 128 + 15}},
		{"shell", ShellOptions{Shell: "/bin/sh", Args: []string{"echo", "ok"}}, "", shellResult{Stdout: "ok\n"}},
		{"env", ShellOptions{Env: []string{"GREETING=hello world"}, Args: []string{"sh", "-c", `echo "$GREETING"`}}, "",
			shellResult{Stdout: "hello world\n"}},
		{"pty", ShellOptions{TTY: true, Term: "vt100", Args: []string{"sh", "-c", `echo "$TERM $COLUMNS $LINES"`}}, "",
			shellResult{Stdout: "vt100 80 24\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			o := tt.o
			o.Stdin, o.Stdout, o.Stderr = strings.NewReader(tt.stdin), &stdout, &stderr
			code, err := RunShell(context.Background(), client, o)
			if err != nil {
				t.Fatal(err)
			}
			got := shellResult{Code: code, Stdout: stdout.String(), Stderr: stderr.String()}
			if tt.want.Stderr == "cd" { // the shell's own wording varies
				if !strings.Contains(got.Stderr, "/does/not/exist") {
					t.Errorf("stderr %q does not name the directory", got.Stderr)
				}
				got.Stderr = "cd"
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("RunShell (-want +got):\n%s", d)
			}
		})
	}
	if got := srv.PTYRequests(); len(got) != 1 || got[0].Term != "vt100" {
		t.Errorf("PTY requests = %+v, want one for vt100", got)
	}
}

func TestRunShellNoExitStatus(t *testing.T) {
	srv, opts := fakeGuest(t)
	client := dial(t, opts)
	done := make(chan struct{})
	go func() {
		defer close(done)
		code, err := RunShell(context.Background(), client, ShellOptions{Args: []string{"sleep", "30"}})
		if code != 255 || err == nil {
			t.Errorf("RunShell after the guest vanished = %d, %v; want 255 and an error", code, err)
		}
	}()
	for srv.Sessions() == 0 {
		// wait for the session to be open before dropping the connection
		select {
		case <-done:
			t.Fatal("RunShell returned early")
		default:
		}
	}
	srv.DropConnections()
	<-done
}

func TestRunShellContextCancel(t *testing.T) {
	_, opts := fakeGuest(t)
	client := dial(t, opts)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	code, err := RunShell(ctx, client, ShellOptions{Args: []string{"sleep", "30"}})
	if code != 255 || !errors.Is(err, context.Canceled) {
		t.Errorf("RunShell with a cancelled context = %d, %v", code, err)
	}
}

// TestExitSignal checks that an exit-signal from the guest becomes 128+n.
func TestExitSignal(t *testing.T) {
	_, opts := fakeGuest(t)
	client := dial(t, opts)
	sess, err := client.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	code, err := exitCode(context.Background(), sess.Run("kill -KILL $$"))
	if code != 128+9 || err != nil {
		t.Errorf("exit code = %d, %v; want 137", code, err)
	}
}
