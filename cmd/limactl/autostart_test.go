package main

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/autostart"
	"github.com/limactl/limactl/pkg/iostreams"
)

// TestAutostartEnableDisable runs the commands against a fake systemd (Linux) or launchd (macOS):
// the entry is written where Lima writes it, systemctl/launchctl are asked, and the messages are Lima's.
func TestAutostartEnableDisable(t *testing.T) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		t.Skip("autostart is for Linux and macOS")
	}
	t.Setenv("LIMA_HOME", t.TempDir())
	fakeWatchInstance(t, "vm")
	home := t.TempDir()
	var ran []string
	m := &autostart.Manager{
		GOOS: runtime.GOOS, Home: home, XDGConfigHome: filepath.Join(home, "xdg"), UID: 501,
		Executable: "/usr/local/bin/limactl", LimaHome: os.Getenv("LIMA_HOME"),
		HasSystemd: func() bool { return true },
		Run: func(_ context.Context, name string, args ...string) error {
			ran = append(ran, name+" "+strings.Join(args, " "))
			return nil
		},
	}
	old := newAutostartManager
	newAutostartManager = func() (*autostart.Manager, error) { return m, nil }
	t.Cleanup(func() { newAutostartManager = old })
	logrus.SetLevel(logrus.InfoLevel)
	t.Cleanup(func() { logrus.SetOutput(os.Stderr) })

	ios, _, _, logs := iostreams.Test()
	run := func(args ...string) {
		t.Helper()
		root := newApp(ios)
		root.SetArgs(args)
		if err := root.Execute(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	run("autostart", "enable", "vm")
	path, _ := m.Path("vm", autostart.AtLogin)
	if _, err := os.Stat(path); err != nil {
		t.Fatal(err)
	}
	run("autostart", "disable", "vm")
	run("autostart", "disable", "vm")
	run("start-at-login", "vm")
	run("start-at-login", "vm")
	run("start-at-login", "--enabled=false", "vm")
	run("start-at-login", "--enabled=false", "vm")
	const notice = `Command "start-at-login" is deprecated, use "limactl autostart enable" or "limactl autostart disable" instead`
	want := []string{
		"level=info msg=\"Instance `vm` registered to start at login\"",
		"level=info msg=\"Instance `vm` unregistered from start at login\"",
		"level=info msg=\"Instance `vm` is not registered for automatic startup\"",
		notice,
		`level=info msg="The autostart entry for instance \"vm\" has been created"`,
		notice,
		`level=info msg="The autostart entry for instance \"vm\" has been updated"`,
		notice,
		`level=info msg="The autostart entry for instance \"vm\" has been unregistered"`,
		notice,
		`level=info msg="The autostart entry for instance \"vm\" is not registered"`,
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(logTimeRE.ReplaceAllString(logs.String(), "")), "\n")); diff != "" {
		t.Errorf("messages (-want +got):\n%s", diff)
	}
	if len(ran) != 5 { // enable, disable, enable, enable, disable
		t.Errorf("commands: %q", ran)
	}
}
