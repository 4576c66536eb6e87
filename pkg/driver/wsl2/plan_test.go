package wsl2

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func ptr[T any](v T) *T { return &v }

// windowsConfig is an instance as a Windows host has it.
func windowsConfig() driver.Config {
	return driver.Config{
		Name:        "default",
		InstanceDir: `C:\Users\Jane Doe\.lima\default`,
		BaseImage:   `C:\Users\Jane Doe\.lima\default\image`,
		Config: &limayaml.LimaYAML{
			VMType: ptr(limayaml.WSL2),
			Mounts: []limayaml.Mount{
				{Location: `C:\Users\Jane Doe`, MountPoint: ptr("/mnt/c/Users/Jane Doe")},
				{Location: `D:\src`, MountPoint: ptr("/src"), Writable: ptr(true)},
				{Location: `C:\Users\Jane Doe\it's here`, MountPoint: ptr("/data/it's here/")},
			},
		},
	}
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestPlanSteps(t *testing.T) {
	p, err := NewPlan(windowsConfig())
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, s := range p.Steps() {
		b.WriteString(s.Name + ":\n")
		for _, inv := range s.Invocations {
			b.WriteString("  " + inv.String() + "\n")
		}
	}
	golden(t, "plan.golden", b.String())
	golden(t, "boot-launcher.golden", p.BootLauncher())

	for _, s := range p.Steps() {
		for _, inv := range s.Invocations {
			if len(inv.Env) != 1 || inv.Env[0] != UTF8Env {
				t.Errorf("%s: %s lacks %s", s.Name, inv, UTF8Env)
			}
			for _, a := range inv.Args {
				if a == "--shutdown" {
					t.Errorf("%s: %s stops every distro", s.Name, inv)
				}
			}
		}
	}
}

// TestBootScriptSyntax parses the launcher and the boot script with every POSIX shell present.
func TestBootScriptSyntax(t *testing.T) {
	p, err := NewPlan(windowsConfig())
	if err != nil {
		t.Fatal(err)
	}
	ran := false
	for _, sh := range []string{"sh", "dash", "bash", "busybox"} {
		path, err := exec.LookPath(sh)
		if err != nil {
			continue
		}
		for name, script := range map[string]string{"launcher": p.BootLauncher(), "script": p.BootScript()} {
			args := []string{"-n"}
			if sh == "busybox" {
				args = []string{"sh", "-n"}
			}
			cmd := exec.Command(path, args...)
			cmd.Stdin = strings.NewReader(script)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", sh, name, err, out)
			}
			ran = true
		}
	}
	if !ran {
		t.Skip("no POSIX shell on this host")
	}
}

func TestBootScriptMounts(t *testing.T) {
	p, err := NewPlan(windowsConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := []Mount{
		{Source: "/mnt/c/Users/Jane Doe", Target: "/mnt/c/Users/Jane Doe"},
		{Source: "/mnt/d/src", Target: "/src", Writable: true},
		{Source: "/mnt/c/Users/Jane Doe/it's here", Target: "/data/it's here"},
	}
	if diff := cmp.Diff(want, p.Mounts); diff != "" {
		t.Errorf("Mounts (-want +got):\n%s", diff)
	}
	script := p.BootScript()
	for _, line := range []string{
		"LIMA_WSL2_CIDATA_SRC='/mnt/c/Users/Jane Doe/.lima/default/cidata'\n",
		"\tlima_wsl2_mount '/mnt/d/src' '/src' rw\n",
		`	lima_wsl2_mount '/mnt/c/Users/Jane Doe/it'\''s here' '/data/it'\''s here' ro` + "\n",
	} {
		if !strings.Contains(script, line) {
			t.Errorf("the boot script lacks %q", line)
		}
	}
	if strings.Contains(script, "lima_wsl2_mount '/mnt/c/Users/Jane Doe' ") {
		t.Error("a mount already at its /mnt/<drive> path is bind-mounted onto itself")
	}
}

func TestWindowsToWSLPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`C:\Users\me`, "/mnt/c/Users/me"},
		{`c:\Users\me\`, "/mnt/c/Users/me"},
		{`D:/src/x`, "/mnt/d/src/x"},
		{`C:\`, "/mnt/c"},
		{`C:`, "/mnt/c"},
		{`Z:\tmp\a b\..\c`, "/mnt/z/tmp/c"},
		{`\\?\C:\Long\Path`, "/mnt/c/Long/Path"},
		{`C:\Users\Zoë\日本`, "/mnt/c/Users/Zoë/日本"},
	} {
		got, err := WindowsToWSLPath(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("WindowsToWSLPath(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{``, `relative\path`, `C:relative`, `\\server\share\x`, `\\wsl.localhost\Ubuntu\home`, `/home/me`, `1:\x`} {
		got, err := WindowsToWSLPath(in)
		if !errors.Is(err, driver.ErrInvalidConfig) {
			t.Errorf("WindowsToWSLPath(%q) = %q, %v; want an ErrInvalidConfig error", in, got, err)
		}
	}
}

func TestNewPlanErrors(t *testing.T) {
	cfg := windowsConfig()
	cfg.Name = "has space"
	if _, err := NewPlan(cfg); !errors.Is(err, driver.ErrInvalidConfig) {
		t.Errorf("name with a space: %v", err)
	}
	cfg = windowsConfig()
	cfg.Config.Mounts = append(cfg.Config.Mounts, limayaml.Mount{Location: `\\nas\share`})
	if _, err := NewPlan(cfg); !errors.Is(err, driver.ErrInvalidConfig) || !strings.Contains(err.Error(), "mounts[3].location") {
		t.Errorf("UNC mount: %v", err)
	}
	cfg = windowsConfig()
	cfg.InstanceDir = `\\nas\home\.lima\default`
	if _, err := NewPlan(cfg); !errors.Is(err, driver.ErrInvalidConfig) || !strings.Contains(err.Error(), "LIMA_HOME") {
		t.Errorf("instance directory on a share: %v", err)
	}
}

func TestInvocationString(t *testing.T) {
	inv := Invocation{Args: []string{"--import", "lima-x", `C:\a b`, "it's"}, Env: []string{UTF8Env}, Stdin: []byte("abc")}
	want := `WSL_UTF8=1 wsl.exe --import lima-x 'C:\a b' 'it'\''s' <stdin: 3 bytes>`
	if got := inv.String(); got != want {
		t.Errorf("String() = %s\nwant       %s", got, want)
	}
}
