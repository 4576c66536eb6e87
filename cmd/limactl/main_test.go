package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/rogpeppe/go-internal/testscript"
)

var updateScripts = flag.Bool("update", false, "rewrite the expected output in testdata/script/*.txtar")

// TestMain lets the test binary run as `limactl` inside the scripts, each command a real process.
func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){"limactl": main})
}

// TestScripts runs the CLI scenarios in testdata/script against a fresh $HOME and $LIMA_HOME.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:           filepath.Join("testdata", "script"),
		UpdateScripts: *updateScripts,
		Cmds:          map[string]func(*testscript.TestScript, bool, []string){"cmplog": cmpLog},
		Setup: func(env *testscript.Env) error {
			home := filepath.Join(env.WorkDir, "home")
			env.Setenv("HOME", home)
			env.Setenv("LIMA_HOME", filepath.Join(home, ".lima"))
			env.Setenv("VISUAL", "")
			env.Setenv("EDITOR", "")
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
