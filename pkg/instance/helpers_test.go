package instance

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/limactl/limactl/pkg/store"
)

func setLimaHome(t *testing.T) string {
	t.Helper()
	home := filepath.Join(t.TempDir(), "lima")
	t.Setenv("LIMA_HOME", home)
	return home
}

func minimalYAML(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustCreate(t *testing.T, name string) *store.Instance {
	t.Helper()
	inst, err := Create(context.Background(), name, minimalYAML(t), false)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// startSleeper starts a real child process that lives until the test ends (or is killed by the
// code under test), and returns its pid. Its command line names instDir (as argv[0], the way
// `exec -a` sets it), as a host agent's or QEMU's does, so it passes for a process of that
// instance; an empty instDir gives a process unrelated to any instance. It is reaped as soon as it
// exits, so a killed sleeper does not linger as a zombie that still answers kill(pid, 0).
func startSleeper(t *testing.T, instDir string) int {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	if instDir != "" {
		cmd.Args[0] = filepath.Join(instDir, "qemu-system-x86_64")
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	return cmd.Process.Pid
}

func writePID(t *testing.T, dir, file string, pid int) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, file), []byte(strconv.Itoa(pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func leftovers(t *testing.T, limaHome string) []string {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join(limaHome, ".tmp-*"))
	if err != nil {
		t.Fatal(err)
	}
	return matches
}
