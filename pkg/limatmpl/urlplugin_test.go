package limatmpl

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestTransformCustomURL(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell script plugins")
	}
	bin := t.TempDir()
	write := func(name, script string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("limactl-url-myscheme", `echo "  /templates/$1.yaml  "`+"\n")
	write("limactl-url-hop", `echo "myscheme:$1"`+"\n")
	write("limactl-url-loop", `echo "loop:$1"`+"\n")
	write("limactl-url-broken", `echo "cannot find $1" >&2; exit 3`+"\n")
	t.Setenv("PATH", bin)
	for in, want := range map[string]string{
		"myscheme:foo":        "/templates/foo.yaml",
		"MyScheme:a/b@c":      "/templates/a/b@c.yaml",
		"hop:bar":             "/templates/bar.yaml",
		"noplugin:x":          "noplugin:x",
		"template:default":    "template:default",
		"https://e.com/x.yml": "https://e.com/x.yml",
		"c:/lima/x.yaml":      "c:/lima/x.yaml",
		"./x.yaml":            "./x.yaml",
	} {
		got, err := TransformCustomURL(t.Context(), in)
		if err != nil || got != want {
			t.Errorf("TransformCustomURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := TransformCustomURL(t.Context(), "broken:x"); err == nil || !strings.Contains(err.Error(), "failed: cannot find x") {
		t.Errorf("broken: %v", err)
	}
	if _, err := TransformCustomURL(t.Context(), "loop:x"); err == nil || !strings.Contains(err.Error(), "still a custom URL") {
		t.Errorf("loop: %v", err)
	}
}
