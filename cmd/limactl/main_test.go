package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

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
