package main

import (
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"

	"github.com/limactl/limactl/pkg/osutil"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// TestMain lets the test binary run as `limactl` inside the scripts, each command a real process,
// and under yq's multi-call names.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"limactl": main, "yq": main, "yq.lima.exe": main})
}

// TestScripts runs the CLI scenarios in testdata/script against a fresh $HOME and $LIMA_HOME.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: *updateScripts,
		Cmds: map[string]func(*testscript.TestScript, bool, []string){
			"cmplog":  cmpLog,
			"sleeper": sleeper,
			"pidfile": pidFile,
			"alive":   alive,
		},
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("LIMA_HOME", filepath.Join(home, ".lima"))
			env.Setenv("VISUAL", "")
			env.Setenv("EDITOR", "")
			// The lima wrapper (cmd/lima), for the scripts that run it with sh.
			wrapper, err := filepath.Abs(filepath.Join("..", "lima"))
			if err != nil {
				return err
			}
			env.Setenv("LIMA_WRAPPER", wrapper)
			// hack/compat's script, for compat_self.txtar.
			compat, err := filepath.Abs(filepath.Join("..", "..", "hack", "compat", "compat.sh"))
			if err != nil {
				return err
			}
			env.Setenv("LIMA_COMPAT", compat)
			return os.MkdirAll(home, 0o755)
		},
	})
}

var logTimeRE = regexp.MustCompile(`(?m)^time="[^"]*" `)

// cmpLog is the script command `cmplog FILE`: the last command's stderr, without logrus'
// time="..." fields and with $WORK for the work directory, must equal FILE exactly.
func cmpLog(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: cmplog FILE")
	}
	got := logTimeRE.ReplaceAllString(ts.ReadFile("stderr"), "")
	got = strings.ReplaceAll(got, ts.Getenv("WORK"), "$WORK")
	if diff := cmp.Diff(ts.ReadFile(args[0]), got); diff != "" {
		ts.Fatalf("stderr differs from %s (-want +got):\n%s", args[0], diff)
	}
}

// sleeper is the script command `sleeper VAR [DIR]`: it starts `sleep 300`, sets $VAR to its pid and
// kills it when the script ends. With DIR, its argv[0] is DIR/qemu-system-x86_64 (as `exec -a` sets
// it), so its command line names DIR as an instance's QEMU's does; without, it is a process unrelated
// to any instance, as a pid reused after a host reboot is.
func sleeper(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 1 || len(args) > 2 {
		ts.Fatalf("usage: sleeper VAR [DIR]")
	}
	cmd := exec.Command("sleep", "300")
	if len(args) == 2 {
		cmd.Args[0] = filepath.Join(args[1], "qemu-system-x86_64")
	}
	ts.Check(cmd.Start())
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }() // reaped at once: a killed sleeper is not a zombie
	ts.Defer(func() { _ = cmd.Process.Kill(); <-done })
	ts.Setenv(args[0], strconv.Itoa(cmd.Process.Pid))
}

// pidFile is the script command `pidfile FILE PID`: it writes PID and a newline to FILE, as Lima's
// pid files hold.
func pidFile(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 2 {
		ts.Fatalf("usage: pidfile FILE PID")
	}
	ts.Check(os.WriteFile(ts.MkAbs(args[0]), []byte(args[1]+"\n"), 0o644))
}

// alive is the script command `[!] alive PID`: the process PID runs (and is not a zombie).
func alive(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: [!] alive PID")
	}
	pid, err := strconv.Atoi(args[0])
	ts.Check(err)
	if osutil.ProcessAlive(pid) == neg {
		ts.Fatalf("pid %d alive = %v, want %v", pid, !neg, !neg)
	}
}
