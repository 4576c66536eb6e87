package usrlocal

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestPlugins(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("executable bits")
	}
	a, b := t.TempDir(), t.TempDir()
	write := func(dir, name, content string, mode os.FileMode) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), mode); err != nil {
			t.Fatal(err)
		}
	}
	write(a, "limactl-zed", "#!/bin/sh\n# <limactl-desc> Zed things </limactl-desc>\n", 0o755)
	write(a, "limactl-noexec", "#!/bin/sh\n", 0o644)
	write(a, "other", "#!/bin/sh\n", 0o755)
	write(b, "limactl-zed", "#!/bin/sh\n", 0o755) // shadowed by the first $PATH entry
	write(b, "limactl-alpha", "\x7fELF <limactl-desc>no</limactl-desc>", 0o755)
	t.Setenv("PATH", a+string(os.PathListSeparator)+b)

	got := Plugins()
	want := []Plugin{
		{Name: "alpha", Path: filepath.Join(b, "limactl-alpha")},
		{Name: "zed", Path: filepath.Join(a, "limactl-zed"), Description: "Zed things"},
	}
	if len(got) != len(want) {
		t.Fatalf("Plugins() = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Plugins()[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
}
