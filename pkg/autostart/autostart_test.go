package autostart

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestSystemdUnitGolden(t *testing.T) {
	golden(t, "lima-vm@default.service.golden", SystemdUnit("/usr/local/bin/limactl", "/home/u/.lima"))
	// Specifiers, variables, spaces and quotes in paths are escaped, not interpreted.
	golden(t, "lima-vm@odd.service.golden", SystemdUnit(`/opt/my tools/50%/$HOME/"lim"actl`, `/data/li ma`))
}

func TestLaunchdPlistGolden(t *testing.T) {
	golden(t, "io.lima-vm.autostart.default.plist.golden",
		LaunchdPlist(LaunchdLabel("default"), "", "/opt/homebrew/bin/limactl", "default", "/Users/u/.lima/default", "/Users/u/.lima"))
	golden(t, "io.lima-vm.daemon.k3s.plist.golden",
		LaunchdPlist(LaunchdDaemonLabel("k3s"), "alice", "/usr/local/bin/limactl", "k3s", "/Users/alice/.lima/k3s", "/Users/alice/.lima"))
}

func TestPaths(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{SystemdUnitPath("/home/u", "", "docker"), "/home/u/.config/systemd/user/lima-vm@docker.service"},
		{SystemdUnitPath("/home/u", "/xdg", "docker"), "/xdg/systemd/user/lima-vm@docker.service"},
		{LaunchAgentPath("/Users/u", "default"), "/Users/u/Library/LaunchAgents/io.lima-vm.autostart.default.plist"},
		{LaunchDaemonPath("k3s"), "/Library/LaunchDaemons/io.lima-vm.daemon.k3s.plist"},
	} {
		if c.got != filepath.FromSlash(c.want) && c.got != c.want {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

// fakeManager records the commands it would run.
func fakeManager(t *testing.T, goos string) (*Manager, *[]string) {
	var ran []string
	home := t.TempDir()
	return &Manager{
		GOOS: goos, Home: home, XDGConfigHome: filepath.Join(home, "xdg"), UID: 501,
		Executable: "/usr/local/bin/limactl", LimaHome: filepath.Join(home, ".lima"),
		HasSystemd: func() bool { return true },
		Run: func(_ context.Context, name string, args ...string) error {
			ran = append(ran, strings.Join(append([]string{name}, args...), " "))
			return nil
		},
	}, &ran
}

func TestRegisterSystemd(t *testing.T) {
	m, ran := fakeManager(t, "linux")
	ctx := context.Background()
	if ok, err := m.IsRegistered("default", AtLogin); err != nil || ok {
		t.Fatalf("IsRegistered before = %v, %v", ok, err)
	}
	if err := m.Register(ctx, "default", "/unused", AtLogin, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(m.XDGConfigHome, "systemd", "user", "lima-vm@default.service")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, SystemdUnit(m.Executable, m.LimaHome)) {
		t.Errorf("unit file:\n%s", data)
	}
	if ok, _ := m.IsRegistered("default", AtLogin); !ok {
		t.Error("not registered after Register")
	}
	unregistered, err := m.Unregister(ctx, "default", AtLogin)
	if err != nil || !unregistered {
		t.Fatalf("Unregister = %v, %v", unregistered, err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("unit file left behind: %v", err)
	}
	if again, err := m.Unregister(ctx, "default", AtLogin); err != nil || again {
		t.Errorf("second Unregister = %v, %v", again, err)
	}
	want := []string{"systemctl --user enable lima-vm@default.service", "systemctl --user disable lima-vm@default.service"}
	if diff := cmp.Diff(want, *ran); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	// No temporary files are left beside the unit.
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 0 {
		t.Errorf("left in %s: %v", filepath.Dir(path), entries)
	}
}

func TestRegisterLaunchd(t *testing.T) {
	m, ran := fakeManager(t, "darwin")
	ctx := context.Background()
	if err := m.Register(ctx, "default", "/Users/u/.lima/default", AtLogin, ""); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(m.Home, "Library", "LaunchAgents", "io.lima-vm.autostart.default.plist")
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Unregister(ctx, "default", AtLogin); err != nil {
		t.Fatal(err)
	}
	want := []string{"launchctl enable gui/501/io.lima-vm.autostart.default", "launchctl disable gui/501/io.lima-vm.autostart.default"}
	if diff := cmp.Diff(want, *ran); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
}

func TestRegisterErrors(t *testing.T) {
	ctx := context.Background()
	m, _ := fakeManager(t, "linux")
	if err := m.Register(ctx, "x", "", AtBoot, ""); err == nil || err.Error() != "--condition=boot is only supported on macOS" {
		t.Errorf("boot on linux: %v", err)
	}
	if err := m.Register(ctx, "x", "", "later", ""); err == nil || !strings.HasPrefix(err.Error(), `unknown condition "later"`) {
		t.Errorf("unknown condition: %v", err)
	}
	m.HasSystemd = func() bool { return false }
	if err := m.Register(ctx, "x", "", AtLogin, ""); !errors.Is(err, ErrNotSupported) {
		t.Errorf("linux without systemd: %v", err)
	}
	w, _ := fakeManager(t, "windows")
	if err := w.Register(ctx, "x", "", AtLogin, ""); !errors.Is(err, ErrNotSupported) || err.Error() != "autostart is not supported on windows" {
		t.Errorf("windows: %v", err)
	}
}

// TestSystemdAnalyzeVerify checks the written unit with systemd's own parser, as a user unit.
func TestSystemdAnalyzeVerify(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed")
	}
	dir := t.TempDir()
	// verify checks that ExecStart's program exists and is executable.
	exe := filepath.Join(dir, "bin dir", "lim%actl")
	if err := os.MkdirAll(filepath.Dir(exe), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(exe, []byte("#!/bin/sh\nexit 0\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	m, _ := fakeManager(t, "linux")
	m.Executable = exe
	if err := m.Register(context.Background(), "default", "", AtLogin, ""); err != nil {
		t.Fatal(err)
	}
	unit := SystemdUnitPath(m.Home, m.XDGConfigHome, "default")
	// --user needs a runtime directory; give it a private one.
	runtime := filepath.Join(dir, "run")
	if err := os.Mkdir(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--user", "--man=no", unit)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+runtime, "SYSTEMD_LOG_LEVEL=notice")
	out, err := cmd.CombinedOutput()
	if err != nil && bytes.Contains(out, []byte("Failed to initialize manager")) {
		t.Skipf("systemd-analyze cannot run here: %s", out)
	}
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Fatalf("systemd-analyze verify --user %s: %v\n%s", unit, err, out)
	}
}
