package sshutil

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestShellScriptGolden(t *testing.T) {
	o := ShellOptions{Workdir: "/w", Shell: "/bin/bash", TTY: true, Args: []string{"printf", "%s\n", "it's $HOME"}}
	golden(t, "shellscript.golden", []byte(ShellScript(o)+"\n"))
	if strings.Contains(loginEnvAwk, "'") {
		t.Error("the awk program holds a single quote, but travels in single quotes")
	}
}

// profile is a guest user's ~/.profile with hostile values. It counts its runs in ~/profile-runs,
// which tells a login shell from the cached environment.
const profile = `echo run >>"$HOME/profile-runs"
export PATH="$HOME/bin:$PATH"
export QUOTE="it's \"q\" \$x ` + "\\`y\\`" + ` \\ end\\"
export NL='line1
line2'
export 'DOLLAR=$HOME $(id) ;'
export EMPTY= SPACES='  a  b  '
unset MAIL
umask 027
`

// guest runs ShellScript as sshd would: with the user's shell, an environment of sshd's making and
// the home directory as working directory.
type guest struct {
	t     testing.TB
	home  string
	shell string   // the user's shell ($SHELL), which also runs the script
	env   []string // extra session variables
}

func newGuest(t testing.TB, shell, profileText string) *guest {
	if _, err := os.Stat(shell); err != nil {
		t.Skipf("no %s: %v", shell, err)
	}
	if _, err := exec.LookPath("awk"); err != nil {
		t.Skip("no awk")
	}
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, profileName(shell)), []byte(profileText), 0o644); err != nil {
		t.Fatal(err)
	}
	return &guest{t: t, home: home, shell: shell}
}

// profileName is the login file of the user's own that shell reads.
func profileName(shell string) string {
	if filepath.Base(shell) == "zsh" {
		return ".zprofile"
	}
	return ".profile"
}

type run struct {
	code  int
	umask string
	pwd   string
	env   map[string]string
	out   string // everything, when the command is not envDump
}

// envDump prints what a command inherits: umask, working directory and environment.
var envDump = []string{"sh", "-c", `umask; pwd; exec env -0`}

func (g *guest) run(o ShellOptions, stdin string) run {
	g.t.Helper()
	cmd := exec.Command(g.shell, "-c", ShellScript(o))
	cmd.Dir = g.home
	cmd.Env = append([]string{
		"HOME=" + g.home, "SHELL=" + g.shell, "USER=tester", "LOGNAME=tester", "PATH=/usr/bin:/bin",
		"MAIL=/var/mail/tester", "LANG=C.UTF-8", "XDG_SESSION_ID=7",
		"SSH_CLIENT=127.0.0.1 40000 22", "SSH_CONNECTION=127.0.0.1 40000 127.0.0.1 22",
	}, g.env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	r := run{out: string(out)}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		// A command killed by signal n is 128+n to sshd's client whether a shell waited for it
		// (the login shell) or it had replaced the shell (the cached environment's exec).
		r.code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			r.code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		g.t.Fatal(err)
	}
	if stderr.Len() > 0 {
		g.t.Errorf("stderr: %s", stderr.String())
	}
	if cmp.Equal(o.Args, envDump) {
		lines := strings.SplitN(r.out, "\n", 3)
		if len(lines) != 3 {
			g.t.Fatalf("unexpected output %q", r.out)
		}
		r.umask, r.pwd, r.env = lines[0], lines[1], map[string]string{}
		for _, kv := range strings.Split(strings.TrimSuffix(lines[2], "\x00"), "\x00") {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "_", "SHLVL": // differ between a login shell and the shell that execs the command
			default:
				r.env[k] = v
			}
		}
		r.out = ""
	}
	return r
}

// logins counts the runs of ~/.profile so far.
func (g *guest) logins() int {
	b, _ := os.ReadFile(filepath.Join(g.home, "profile-runs"))
	return strings.Count(string(b), "run\n")
}

// record is the cached environment for the user's own shell without a TTY.
func (g *guest) record() string {
	return filepath.Join(g.home, ".cache", "lima-shellenv", filepath.Base(g.shell)+".notty")
}

// editProfile appends to the user's login file and makes the record older than it.
func (g *guest) editProfile(extra string) {
	p := filepath.Join(g.home, profileName(g.shell))
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		g.t.Fatal(err)
	}
	if _, err := f.WriteString(extra); err != nil {
		g.t.Fatal(err)
	}
	f.Close()
	past := time.Now().Add(-time.Hour)
	if err := os.Chtimes(g.record(), past, past); err != nil {
		g.t.Fatal(err)
	}
}

func (g *guest) wantLogins(n int, why string) {
	g.t.Helper()
	if got := g.logins(); got != n {
		g.t.Errorf("%s: %d login shells so far, want %d", why, got, n)
	}
}

func TestLoginEnvCache(t *testing.T) {
	for _, shell := range []string{"/bin/bash", "/bin/sh", "/bin/zsh"} {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			g := newGuest(t, shell, profile)
			g.env = []string{"WEIRD-NAME=kept"}
			if err := os.MkdirAll(filepath.Join(g.home, "bin"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(g.home, "bin", "$(echo A)=1"), []byte("#!/bin/sh\necho ran \"$@\"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			login := g.run(ShellOptions{Args: envDump, AlwaysLogin: true}, "")
			g.wantLogins(1, "AlwaysLogin")
			first := g.run(ShellOptions{Args: envDump}, "")
			g.wantLogins(2, "the first run")
			fi, err := os.Lstat(g.record())
			if err != nil {
				t.Fatalf("the first run left no record: %v", err)
			}
			if fi.Mode() != 0o600 {
				t.Errorf("record mode %v, want 0600", fi.Mode())
			}
			if di, err := os.Stat(filepath.Dir(g.record())); err != nil || di.Mode().Perm() != 0o700 {
				t.Errorf("record directory: %v, %v; want mode 0700", di.Mode(), err)
			}
			fast := g.run(ShellOptions{Args: envDump}, "")
			g.wantLogins(2, "the second run")

			if login.umask != "0027" || login.pwd != g.home || login.env["QUOTE"] != `it's "q" $x `+"`y`"+` \ end\` ||
				login.env["NL"] != "line1\nline2" || login.env["SPACES"] != "  a  b  " {
				t.Errorf("the login shell did not read the test profile as expected: %+v", login)
			}
			if _, ok := login.env["MAIL"]; ok {
				t.Errorf("the profile unsets MAIL: %+v", login)
			}
			if d := cmp.Diff(login, first, cmp.AllowUnexported(run{})); d != "" {
				t.Errorf("first run differs from the login shell (-login +first):\n%s", d)
			}
			if d := cmp.Diff(login, fast, cmp.AllowUnexported(run{})); d != "" {
				t.Errorf("cached run differs from the login shell (-login +cached):\n%s", d)
			}

			for _, tt := range []struct {
				name string
				o    ShellOptions
				in   string
				want run
			}{
				{"exit code", ShellOptions{Args: []string{"sh", "-c", "exit 7"}}, "", run{code: 7}},
				{"exit builtin", ShellOptions{Args: []string{"exit", "9"}}, "", run{code: 9}},
				{"stdin", ShellOptions{Args: []string{"cat"}}, "hi\n", run{out: "hi\n"}},
				{"quoting", ShellOptions{Args: []string{"printf", "%s|", "a b", `it's`, "$HOME", "*", "x\ny"}}, "",
					run{out: "a b|it's|$HOME|*|x\ny|"}},
				{"assignments", ShellOptions{Args: []string{"A=it's $HOME", "B=", "sh", "-c", `printf %s "$A|$B|$1"`, "sh", "C=1"}}, "",
					run{out: "it's $HOME||C=1"}},
				// A command in ~/bin whose name looks like an assignment to the output of $(...).
				{"not an assignment", ShellOptions{Args: []string{"$(echo A)=1", "x"}}, "", run{out: "ran x\n"}},
				{"workdir", ShellOptions{Workdir: "/", Args: []string{"pwd"}}, "", run{out: "/\n"}},
				{"missing workdir", ShellOptions{Workdir: "/does/not/exist", Args: []string{"pwd"}}, "", run{out: g.home + "\n"}},
				{"killed", ShellOptions{Args: []string{"sh", "-c", "exec 2>/dev/null; sh -c 'kill -TERM $$'"}}, "", run{code: 128 + 15}},
			} {
				t.Run(tt.name, func(t *testing.T) {
					if got := g.run(tt.o, tt.in); !cmp.Equal(got, tt.want, cmp.AllowUnexported(run{})) {
						t.Errorf("got %+v, want %+v", got, tt.want)
					}
				})
			}
			g.wantLogins(2, "the commands above")

			g.editProfile("export LIMA_X=1\n")
			if r := g.run(ShellOptions{Args: envDump}, ""); r.env["LIMA_X"] != "1" {
				t.Errorf("after a change to .profile: LIMA_X=%q, want 1", r.env["LIMA_X"])
			}
			g.wantLogins(3, "after a change to .profile")
			if r := g.run(ShellOptions{Args: envDump}, ""); r.env["LIMA_X"] != "1" {
				t.Errorf("cached after a change to .profile: LIMA_X=%q, want 1", r.env["LIMA_X"])
			}
			g.wantLogins(3, "the run after the change")

			// A symlink to a good record is not a record.
			if err := os.Rename(g.record(), g.record()+".real"); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(g.record()+".real", g.record()); err != nil {
				t.Fatal(err)
			}
			g.run(ShellOptions{Args: []string{"true"}}, "")
			g.wantLogins(4, "a symlinked record")
			if fi, err := os.Lstat(g.record()); err != nil || !fi.Mode().IsRegular() {
				t.Errorf("the login run did not replace the symlink with a record: %v", err)
			}

			if os.Geteuid() == 0 {
				if err := os.Chown(g.record(), 12345, 12345); err != nil {
					t.Fatal(err)
				}
				g.run(ShellOptions{Args: []string{"true"}}, "")
				g.wantLogins(5, "a record owned by someone else")
			} else if err := os.WriteFile(filepath.Join(g.home, "profile-runs"), []byte(strings.Repeat("run\n", 5)), 0o644); err != nil {
				t.Fatal(err)
			}
			g.run(ShellOptions{Args: []string{"true"}}, "")
			g.wantLogins(5, "a fresh record")

			// A record from the future: the clock went back since it was written.
			future := time.Now().Add(time.Hour)
			if err := os.Chtimes(g.record(), future, future); err != nil {
				t.Fatal(err)
			}
			g.run(ShellOptions{Args: []string{"true"}}, "")
			g.wantLogins(6, "a record from the future")

			// Another shell with the same name has its own key.
			other := "/usr" + shell
			if _, err := os.Stat(other); err == nil {
				g.run(ShellOptions{Shell: other, Args: []string{"true"}}, "")
				g.wantLogins(7, "another shell")
				g.run(ShellOptions{Shell: other, Args: []string{"true"}}, "")
				g.wantLogins(7, "another shell again")
				g.run(ShellOptions{Args: []string{"true"}}, "")
				g.wantLogins(8, "the user's shell after another one")
			}
		})
	}
}

// TestLoginEnvNoRecord checks the cases that must always run the login shell.
func TestLoginEnvNoRecord(t *testing.T) {
	tests := []struct {
		name    string
		profile string
		env     []string
		o       ShellOptions
	}{
		{"value from the session", profile + `export FROM="$SSH_CONNECTION"` + "\n", nil, ShellOptions{}},
		{"exported function", profile + "f() { :; }; export -f f\n", nil, ShellOptions{}},
		{"fish or tcsh", profile, []string{"version=3.6"}, ShellOptions{}},
		{"preserved env", profile, nil, ShellOptions{Env: []string{"A=1"}}},
		{"always login", profile, nil, ShellOptions{AlwaysLogin: true}},
		{"unknown shell", profile, nil, ShellOptions{Shell: "/bin/rbash"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := newGuest(t, "/bin/bash", tt.profile)
			g.env = tt.env
			o := tt.o
			o.Args = envDump
			first := g.run(o, "")
			second := g.run(o, "")
			g.wantLogins(2, "two runs")
			if d := cmp.Diff(first, second, cmp.AllowUnexported(run{})); d != "" {
				t.Errorf("the two runs differ:\n%s", d)
			}
		})
	}
}

// TestLoginEnvRecordFormat checks that a record holds only what the login changed.
func TestLoginEnvRecordFormat(t *testing.T) {
	g := newGuest(t, "/bin/bash", "export TERM=dumb A=1\n")
	g.env = []string{"TERM=xterm", "SSH_TTY=/dev/pts/3"}
	g.run(ShellOptions{Args: []string{"true"}}, "")
	b, err := os.ReadFile(g.record())
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if !strings.HasPrefix(l, "export 'PATH=") { // /etc/profile's
			lines = append(lines, l)
		}
	}
	sort.Strings(lines[1 : len(lines)-3])
	want := []string{"export 'A=1'", "umask", "_lima_ok=1", "fi"}
	got := lines[1:]
	got[len(got)-3] = strings.Fields(got[len(got)-3])[0]
	if d := cmp.Diff(want, got); d != "" || !strings.HasPrefix(lines[0], `if [ "$_lima_k" = 'v1 `) {
		t.Errorf("record (-want +got):\n%s\n%s", d, b)
	}
}

// TestLoginEnvOtherShell runs another shell than the user's (--shell): the script runs in the
// user's shell, the login and the command in the other one.
func TestLoginEnvOtherShell(t *testing.T) {
	for _, pair := range [][2]string{{"/bin/bash", "/bin/zsh"}, {"/bin/zsh", "/bin/sh"}, {"/bin/sh", "/bin/bash"}} {
		t.Run(filepath.Base(pair[0])+"-"+filepath.Base(pair[1]), func(t *testing.T) {
			if _, err := os.Stat(pair[1]); err != nil {
				t.Skip(err)
			}
			g := newGuest(t, pair[0], profile)
			if err := os.WriteFile(filepath.Join(g.home, profileName(pair[1])), []byte(profile), 0o644); err != nil {
				t.Fatal(err)
			}
			o := ShellOptions{Shell: pair[1], Args: envDump}
			login := g.run(ShellOptions{Shell: pair[1], Args: envDump, AlwaysLogin: true}, "")
			first := g.run(o, "")
			fast := g.run(o, "")
			g.wantLogins(2, "three runs")
			if login.env["QUOTE"] == "" {
				t.Errorf("the login shell did not read the profile: %+v", login)
			}
			for _, r := range []run{first, fast} {
				if d := cmp.Diff(login, r, cmp.AllowUnexported(run{})); d != "" {
					t.Errorf("differs from the login shell (-login +got):\n%s", d)
				}
			}
		})
	}
}

// TestLoginEnvTTY checks that sessions with a terminal have their own record, and none when a
// login file copies the terminal's name.
func TestLoginEnvTTY(t *testing.T) {
	g := newGuest(t, "/bin/bash", profile)
	g.env = []string{"SSH_TTY=/dev/pts/77"}
	o := ShellOptions{TTY: true, Args: []string{"true"}}
	g.run(o, "")
	g.run(o, "")
	g.wantLogins(1, "two runs with a terminal")
	if _, err := os.Stat(strings.TrimSuffix(g.record(), ".notty") + ".tty"); err != nil {
		t.Errorf("no record for terminal sessions: %v", err)
	}
	g.run(ShellOptions{Args: []string{"true"}}, "")
	g.wantLogins(2, "then one without")

	g.editProfile(`export GPG_TTY="$SSH_TTY"` + "\n")
	g.run(o, "")
	g.run(o, "")
	g.wantLogins(4, "two runs with a terminal whose name the profile copies")
}

// BenchmarkLoginEnv times what the guest does for `limactl shell VM true`, run here with the
// host's bash and a small ~/.profile: the real login shell every time (AlwaysLogin) against the
// cached login environment. The host's /etc/profile counts too, so run it on a guest-like system
// for figures that mean something; under TCG every fork+exec the login files do costs far more.
func BenchmarkLoginEnv(b *testing.B) {
	g := newGuest(b, "/bin/bash", profile)
	for _, c := range []struct {
		name string
		o    ShellOptions
	}{
		{"login", ShellOptions{Args: []string{"true"}, AlwaysLogin: true}},
		{"cached", ShellOptions{Args: []string{"true"}}},
	} {
		g.run(c.o, "") // leaves the record
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				g.run(c.o, "")
			}
		})
	}
}

// TestLoginEnvFish runs the script under a real fish, which parses the whole line (the login
// environment script it skips included) before it runs any of it, and reads \\ and \' as escapes
// inside single quotes: the line must still parse, and the command run as before.
func TestLoginEnvFish(t *testing.T) {
	fish, err := exec.LookPath("fish")
	if err != nil {
		t.Skip("no fish")
	}
	g := newGuest(t, fish, "")
	g.env = []string{"XDG_CONFIG_HOME=" + filepath.Join(g.home, ".config"), "XDG_DATA_HOME=" + filepath.Join(g.home, ".local")}
	for _, args := range [][]string{
		{"printf", "%s|", "a b", "$HOME"},
		{"printf", "%s|", "x\ny"},
		{"sh", "-c", "exit 7"},
		{"A=a\\b", "sh", "-c", `echo "$A"`},
		{"printf", "%s|", "it's", `a\b`, `\\`, `'\''`},
	} {
		o := ShellOptions{Workdir: "/", Args: args}
		want := g.run(ShellOptions{Workdir: "/", Args: args, AlwaysLogin: true}, "")
		if got := g.run(o, ""); !cmp.Equal(got, want, cmp.AllowUnexported(run{})) {
			t.Errorf("%q: got %+v, want %+v (the old script's)", args, got, want)
		}
		if args[0] == "printf" && want.out != strings.Join(args[2:], "|")+"|" {
			t.Errorf("%q: fish printed %q", args, want.out)
		}
	}
}

// TestLoginEnvInPlace checks that, with a record, bash and zsh run the command themselves: no
// second shell starts (the user's shell is a wrapper that counts its starts), and the command
// replaces the shell (its parent is the process that started the shell), so signals and exit
// statuses reach it as before.
func TestLoginEnvInPlace(t *testing.T) {
	for _, shell := range []string{"/bin/bash", "/bin/zsh"} {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			g := newGuest(t, shell, profile)
			wrapper := filepath.Join(g.home, "shells", filepath.Base(shell))
			starts := filepath.Join(g.home, "starts")
			if err := os.MkdirAll(filepath.Dir(wrapper), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(wrapper, []byte("#!/bin/sh\necho >>"+ShellQuote(starts)+"\nexec "+shell+` "$@"`+"\n"), 0o755); err != nil {
				t.Fatal(err)
			}
			g.shell = wrapper
			count := func() int {
				b, _ := os.ReadFile(starts)
				return len(b)
			}
			parent := []string{"sh", "-c", "cat /proc/$PPID/comm"}
			g.run(ShellOptions{Args: parent}, "")
			g.wantLogins(1, "the first run")
			before := count()
			r := g.run(ShellOptions{Args: parent}, "")
			g.wantLogins(1, "the second run")
			if n := count() - before; n != 1 {
				t.Errorf("the cached run started the user's shell %d times, want 1 (sshd's)", n)
			}
			self, _ := os.ReadFile("/proc/self/comm")
			if r.out != string(self) {
				t.Errorf("the command's parent is %q, want %q: the shell forked it instead of exec'ing it", r.out, self)
			}
			// The script's own variables are gone before the command runs.
			if r := g.run(ShellOptions{Args: []string{"set"}}, ""); regexp.MustCompile(`(?m)^_lima_`).MatchString(r.out) {
				t.Errorf("the script's variables reach the command:\n%s", r.out)
			}
		})
	}
}

// TestLoginEnvReviewCases: the shell that runs the script is not always $SHELL; a failed exec
// under bash's execfail must not run the command in sshd's shell; a long command still fits in
// one argument.
func TestLoginEnvReviewCases(t *testing.T) {
	which := []string{"eval", `printf %s "${ZSH_VERSION:+zsh}${BASH_VERSION:+bash}"`}
	t.Run("SHELL names another shell", func(t *testing.T) {
		if _, err := os.Stat("/bin/zsh"); err != nil {
			t.Skip(err)
		}
		g := newGuest(t, "/bin/bash", profile)
		if err := os.WriteFile(filepath.Join(g.home, ".zprofile"), []byte(profile), 0o644); err != nil {
			t.Fatal(err)
		}
		g.env = []string{"SHELL=/bin/zsh"} // as a ~/.bashrc exporting it would leave sshd's bash
		for i := range 3 {
			if r := g.run(ShellOptions{Args: which}, ""); r.out != "zsh" {
				t.Errorf("run %d: the command ran in %q, want zsh ($SHELL)", i, r.out)
			}
		}
	})
	t.Run("execfail", func(t *testing.T) {
		g := newGuest(t, "/bin/bash", profile)
		env := filepath.Join(g.home, "bash_env")
		if err := os.WriteFile(env, []byte("shopt -s execfail\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		g.env = []string{"BASH_ENV=" + env}
		cmd := exec.Command("/bin/bash", "-c", ShellScript(ShellOptions{Shell: filepath.Join(g.home, "no", "bash"), Args: []string{"echo", "ran"}}))
		cmd.Dir = g.home
		cmd.Env = append([]string{"HOME=" + g.home, "SHELL=/bin/bash", "PATH=/usr/bin:/bin"}, g.env...)
		out, err := cmd.Output()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 127 || len(out) != 0 {
			t.Errorf("a failed exec with execfail: %v, output %q; want exit 127 and nothing run", err, out)
		}
	})
	t.Run("long command", func(t *testing.T) {
		g := newGuest(t, "/bin/bash", profile)
		// Once in the line it fits (as before the cache); three times it would not.
		long := []string{"sh", "-c", `printf %s "$1" | wc -c`, "sh", strings.Repeat("x", 60000) + `it's \ x`}
		for i := range 2 {
			if r := g.run(ShellOptions{Args: long}, ""); strings.TrimSpace(r.out) != "60008" || r.code != 0 {
				t.Errorf("run %d: %+v", i, r.code)
			}
		}
	})
}

// TestLoginEnvThroughEval: the line run by bash through eval (as the guest agent's spare shells
// run it, guestagent/spare.go) behaves as `bash -c LINE` (sshd's way): the command replaces the
// shell when it is a program (same parent, same SHLVL, killed by its signal with no "Terminated"
// from a waiting shell), builtins and missing commands run in the shell with the same messages
// and exit codes.
func TestLoginEnvThroughEval(t *testing.T) {
	g := newGuest(t, "/bin/bash", profile)
	viaEval := func(o ShellOptions) (string, string, int) {
		t.Helper()
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		cmd := exec.Command(g.shell, "-c", `IFS= read -r -d "" _lima_line <&3; exec 3<&-; eval "$_lima_line"`)
		cmd.ExtraFiles = []*os.File{r}
		return g.runCmd(cmd, func() {
			_, _ = w.WriteString("unset _lima_line; " + ShellScript(o))
			_ = w.Close()
		})
	}
	viaC := func(o ShellOptions) (string, string, int) {
		t.Helper()
		return g.runCmd(exec.Command(g.shell, "-c", ShellScript(o)), func() {})
	}
	self, _ := os.ReadFile("/proc/self/comm")
	for _, args := range [][]string{
		{"sh", "-c", `echo "$SHLVL $(cat /proc/$PPID/comm)"`},
		{"sh", "-c", "kill -TERM $$"},
		{"exit", "7"},
		{"no-such-command-here", "x"},
		{"A=1", "sh", "-c", `echo "$A"`},
		{"/bin/sh", "-c", "exit 3"},
	} {
		o := ShellOptions{Args: args}
		viaC(o) // the login shell, which writes the record
		out, errOut, code := viaC(o)
		eOut, eErr, eCode := viaEval(o)
		if eOut != out || eErr != errOut || eCode != code {
			t.Errorf("%q: through eval: %q %q %d; as -c: %q %q %d", args, eOut, eErr, eCode, out, errOut, code)
		}
		if args[0] == "sh" && args[2][0] == 'e' && out != "0 "+string(self) {
			t.Errorf("%q: %q, want SHLVL 0 and this test as the parent (the shell exec'd the command)", args, out)
		}
	}
	g.wantLogins(1, "one login shell, whose record the others use")
}

// runCmd runs cmd in the guest's environment after feed (which may write to what cmd reads), and
// returns its stdout, stderr and exit code (128+n for signal n).
func (g *guest) runCmd(cmd *exec.Cmd, feed func()) (string, string, int) {
	g.t.Helper()
	cmd.Dir = g.home
	cmd.Env = []string{
		"HOME=" + g.home, "SHELL=" + g.shell, "USER=tester", "LOGNAME=tester", "PATH=/usr/bin:/bin",
		"SSH_CLIENT=127.0.0.1 40000 22",
	}
	var out, errOut strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		g.t.Fatal(err)
	}
	feed()
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			code = 128 + int(ws.Signal())
		}
	} else if err != nil {
		g.t.Fatal(err)
	}
	return out.String(), errOut.String(), code
}

// TestLoginEnvOddCommandNames: the cached line (second run: the record exists) against the plain
// login line (AlwaysLogin) for odd command names: quotes, spaces, glob characters, a keyword, a
// leading "-" (which exec would take for an option), a path, a script without "#!".
func TestLoginEnvOddCommandNames(t *testing.T) {
	g := newGuest(t, "/bin/bash", profile)
	bin := filepath.Join(g.home, "bin") // on PATH through the profile
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(bin, 0o755))
	must(os.MkdirAll(filepath.Join(g.home, "-x"), 0o755))
	script := "#!/bin/sh\necho \"ran $0 $*\"\n"
	for _, p := range []string{
		filepath.Join(bin, "it's a prog"), filepath.Join(bin, "*"), filepath.Join(bin, "-dash"),
		filepath.Join(g.home, "-x", "prog"), filepath.Join(bin, "if"),
	} {
		must(os.WriteFile(p, []byte(script), 0o755))
	}
	// An executable text file without "#!": bash runs it as a script itself.
	must(os.WriteFile(filepath.Join(g.home, "noshebang"), []byte("echo \"noshebang $*\"\n"), 0o755))
	run := func(o ShellOptions) (string, string, int) {
		t.Helper()
		cmd := exec.Command(g.shell, "-c", ShellScript(o))
		return g.runCmd(cmd, func() {})
	}
	for _, args := range [][]string{
		{"it's a prog", "a"},
		{"*", "a"},
		{"-dash", "a"},
		{"-x/prog", "a"},
		{"if", "a"},
		{"./noshebang", "a"},
		{"A=1", "-x/prog", "b"},
	} {
		want, wantErr, wantCode := run(ShellOptions{Args: args, AlwaysLogin: true})
		run(ShellOptions{Args: args}) // writes the record
		got, gotErr, gotCode := run(ShellOptions{Args: args})
		if got != want || gotErr != wantErr || gotCode != wantCode {
			t.Errorf("%q: cached line %q %q %d; login line %q %q %d", args, got, gotErr, gotCode, want, wantErr, wantCode)
		}
	}
}
