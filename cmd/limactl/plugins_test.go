package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/iostreams"
)

func TestMayNeedPlugins(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	root := newApp(ios)
	for _, tt := range []struct {
		argv []string
		want bool
	}{
		{[]string{"limactl"}, true},
		{[]string{"limactl", "--help"}, true},
		{[]string{"limactl", "help"}, true},
		{[]string{"limactl", "help", "foo"}, true},
		{[]string{"limactl", "completion", "bash"}, true},
		{[]string{"limactl", "__complete", "f"}, true},
		{[]string{"limactl", "foo", "--bar"}, true},
		{[]string{"limactl", "--log-level", "debug", "foo"}, true},
		{[]string{"limactl", "shell", "vm", "true"}, false},
		{[]string{"limactl", "--log-level", "debug", "shell", "vm", "foo"}, false},
		{[]string{"limactl", "--debug", "list", "-q"}, false},
		{[]string{"limactl", "ls"}, false},
		{[]string{"limactl", "--version"}, false},
		{[]string{"limactl", "-v"}, false},
		{[]string{"limactl", "--debug", "--version"}, false},
		{[]string{"limactl", "--version", "--help"}, true},
		{[]string{"limactl", "-h", "-v"}, true},
		{[]string{"limactl", "--version=false"}, true},
		{[]string{"limactl", "--log-level", "--version"}, true},
		{[]string{"limactl", "--log-level=info", "--version"}, false},
	} {
		if got := mayNeedPlugins(root, tt.argv); got != tt.want {
			t.Errorf("mayNeedPlugins(%q) = %v, want %v", tt.argv, got, tt.want)
		}
	}
}

// TestPluginRuns runs a limactl-<name> found in $PATH through limactl, with limactl's global flags
// before its name and its own after.
func TestPluginRuns(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	script := "#!/bin/sh\necho \"$@\" >" + out + "\nexit 3\n"
	if err := os.WriteFile(filepath.Join(dir, "limactl-hello"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	ios, _, _, _ := iostreams.Test()
	root := newApp(ios)
	argv := []string{"limactl", "--log-level", "info", "hello", "--x", "y"}
	addPluginCommands(root, ios, argv)
	root.SetArgs(argv[1:])
	err := root.Execute()
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 3 {
		t.Fatalf("Execute = %v, want the plugin's exit code 3", err)
	}
	if b, err := os.ReadFile(out); err != nil || strings.TrimSpace(string(b)) != "--x y" {
		t.Errorf("the plugin got %q (%v), want --x y", b, err)
	}
}
