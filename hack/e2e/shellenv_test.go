//go:build linux

package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// shellSessionVars differ from one SSH session to the next, so they are left out when the
// environment of two `limactl shell` runs is compared.
var shellSessionVars = map[string]bool{
	"_": true, "PWD": true, "OLDPWD": true, "SHLVL": true, "TERM": true, "COLUMNS": true, "LINES": true,
	"SSH_CLIENT": true, "SSH_CONNECTION": true, "SSH_TTY": true, "SSH_AUTH_SOCK": true, "XDG_SESSION_ID": true,
}

// testShellLoginEnv checks the login environment cache of `limactl shell VM COMMAND`
// (docs/shell.md): after a first command has run the login shell, later commands get the same
// variables, umask and working directory without it, a change to ~/.profile is seen by the next
// command, and exit codes pass through. It edits ~/.profile in the guest and restores it.
func testShellLoginEnv(t *testing.T) {
	shell := func(args ...string) string {
		t.Helper()
		return must(t, time.Minute, append([]string{"shell", vm}, args...)...).stdout
	}
	// loginShell runs the real login shell every time, as upstream Lima does.
	loginShell := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := limactlWithEnv(ctx, append(env(), "LIMA_SHELL_LOGIN=1"), nil, append([]string{"shell", vm}, args...)...)
		if err != nil || r.code != 0 {
			t.Fatalf("LIMA_SHELL_LOGIN=1 limactl shell %s: %v\n%s", strings.Join(args, " "), err, r)
		}
		return r.stdout
	}
	const records = `"${XDG_RUNTIME_DIR:-$HOME/.cache}/lima-shellenv"`
	// Every login shell from now on leaves a line in ~/.lima-e2e-logins.
	shell("sh", "-c", `set -e; if [ -e "$HOME/.profile" ]; then cp -p "$HOME/.profile" "$HOME/.profile.lima-e2e"; fi
echo 'echo login >>"$HOME/.lima-e2e-logins"' >>"$HOME/.profile"; rm -rf `+records+` "$HOME/.lima-e2e-logins"`)
	t.Cleanup(func() {
		// The backup has the old mtime, which a record written meanwhile is newer than: drop them.
		_, _ = limactl(context.Background(), nil, "shell", vm, "sh", "-c",
			`if [ -e "$HOME/.profile.lima-e2e" ]; then mv -f "$HOME/.profile.lima-e2e" "$HOME/.profile"; else rm -f "$HOME/.profile"; fi; rm -rf `+records+` "$HOME/.lima-e2e-logins"`)
	})
	logins := func() int {
		t.Helper()
		return strings.Count(shell("sh", "-c", `cat "$HOME/.lima-e2e-logins" 2>/dev/null || true`), "login\n")
	}

	shell("true") // the login shell, which leaves the record
	cached := shellEnv(t, shell("env", "-0"))
	if n := logins(); n != 1 {
		t.Errorf("%d login shells for the first two commands, want 1 (the first)", n)
	}
	if d := cmp.Diff(shellEnv(t, loginShell("env", "-0")), cached); d != "" {
		t.Errorf("environment: cached differs from the login shell's (-login +cached):\n%s", d)
	}
	if d := cmp.Diff(shellEnv(t, shell("bash", "-lc", "env -0")), cached); d != "" {
		t.Errorf("environment: cached differs from bash -lc env (-bash +cached):\n%s", d)
	}
	// Commands without a terminal run through the guest agent (docs/shell.md), in a shell it
	// started ahead of them: they must get what the guest's sshd gives a login shell, limits and
	// identity included.
	viaSSHD := func(extra []string, args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		r, err := limactlWithEnv(ctx, append(append(env(), "LIMA_SSH_MUX=0"), extra...), nil, append([]string{"shell", vm}, args...)...)
		if err != nil || r.code != 0 {
			t.Fatalf("LIMA_SSH_MUX=0 limactl shell %s: %v\n%s", strings.Join(args, " "), err, r)
		}
		return r.stdout
	}
	parent := []string{"sh", "-c", "cat /proc/$PPID/comm"}
	for range 2 { // the second one in a spare shell
		if got := strings.TrimSpace(shell(parent...)); got != "lima-guestagent" {
			t.Errorf("the command's parent is %q, want the guest agent", got)
		}
	}
	if got := strings.TrimSpace(viaSSHD(nil, parent...)); got != "sshd" {
		t.Errorf("with LIMA_SSH_MUX=0 the command's parent is %q, want sshd", got)
	}
	if d := cmp.Diff(shellEnv(t, viaSSHD([]string{"LIMA_SHELL_LOGIN=1"}, "env", "-0")), cached); d != "" {
		t.Errorf("environment: through the guest agent differs from sshd's login shell (-sshd +agent):\n%s", d)
	}
	identity := []string{"sh", "-c", "ulimit -a; umask; id; cat /proc/self/oom_score_adj; cat /proc/self/cgroup | sed 's/session-[0-9]*/session-N/'"}
	if got, want := shell(identity...), viaSSHD(nil, identity...); got != want {
		t.Errorf("limits, umask, ids, cgroup: through the guest agent\n%s\nthrough sshd\n%s", got, want)
	}
	for _, c := range []string{"umask", "pwd"} {
		if got, want := shell("sh", "-c", c), loginShell("sh", "-c", c); got != want {
			t.Errorf("%s: cached %q, login shell %q", c, got, want)
		}
	}
	if got, want := shell("sh", "-c", "cd; pwd"), shell("bash", "-lc", "cd; pwd"); got != want {
		t.Errorf("home: cached %q, login shell %q", got, want)
	}

	// A change to ~/.profile shows up in the next command, which runs the login shell again.
	before := logins()
	shell("sh", "-c", `echo 'export LIMA_E2E_X=1' >>"$HOME/.profile"`)
	if got := strings.TrimSpace(shell("printenv", "LIMA_E2E_X")); got != "1" {
		t.Errorf("after export LIMA_E2E_X=1 in ~/.profile: LIMA_E2E_X=%q, want 1", got)
	}
	if got := strings.TrimSpace(shell("printenv", "LIMA_E2E_X")); got != "1" {
		t.Errorf("second command after the change: LIMA_E2E_X=%q, want 1", got)
	}
	// The edit itself used the old record, the first printenv ran the login shell, the second
	// printenv and logins() the new record.
	if n := logins(); n != before+1 {
		t.Errorf("%d login shells for the edit and the three commands after it, want 1", n-before)
	}

	for _, args := range [][]string{{"sh", "-c", "exit 7"}, {"exit", "7"}} {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		r, err := limactl(ctx, nil, append([]string{"shell", vm}, args...)...)
		cancel()
		if err != nil || r.code != 7 {
			t.Errorf("limactl shell %s %s: exit %d (%v), want 7\n%s", vm, strings.Join(args, " "), r.code, err, r)
		}
	}
}

// shellEnv parses `env -0` output, leaving out the per-session variables.
func shellEnv(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, kv := range strings.Split(strings.TrimSuffix(out, "\x00"), "\x00") {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			t.Fatalf("env -0 printed %s", strconv.Quote(out))
		}
		if !shellSessionVars[k] {
			m[k] = v
		}
	}
	return m
}
