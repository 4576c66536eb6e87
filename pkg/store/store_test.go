package store

import (
	"context"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/osutil"
	"github.com/limactl/limactl/pkg/store/filenames"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture is a $LIMA_HOME under a fake $HOME, so the table shows ~/.lima/NAME on every machine.
type fixture struct {
	t        *testing.T
	home     string
	limaHome string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	home := t.TempDir()
	limaHome := filepath.Join(home, ".lima")
	t.Setenv("HOME", home)
	t.Setenv("LIMA_HOME", limaHome)
	if err := os.MkdirAll(filepath.Join(limaHome, filenames.ConfigDir), 0o700); err != nil {
		t.Fatal(err)
	}
	return &fixture{t: t, home: home, limaHome: limaHome}
}

const testYAML = `images:
- location: https://example.com/debian.qcow2
  arch: x86_64
- location: https://example.com/debian-arm64.qcow2
  arch: aarch64
`

const testSizes = "vmType: qemu\narch: x86_64\ncpus: 2\nmemory: 2GiB\ndisk: 20GiB\n"

func (f *fixture) instance(name, extraYAML string) string {
	f.t.Helper()
	dir := filepath.Join(f.limaHome, name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		f.t.Fatal(err)
	}
	if !strings.Contains(extraYAML, "cpus:") {
		extraYAML = testSizes + extraYAML
	}
	f.write(name, filenames.LimaYAML, testYAML+extraYAML)
	f.write(name, filenames.LimaVersion, "2.2.0\n")
	return dir
}

func (f *fixture) write(name, file, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.limaHome, name, file), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// livePID starts a real child process that lives until the test ends, with instDir in its command
// line (as its argv[0], the way `exec -a` sets it), as a host agent or QEMU of that instance has.
func livePID(t *testing.T, instDir string) int {
	t.Helper()
	cmd := exec.Command("sleep", "300")
	cmd.Args[0] = filepath.Join(instDir, "qemu-system-x86_64")
	return startChild(t, cmd)
}

// unrelatedPID starts a real child process that lives until the test ends and has nothing to do
// with any instance.
func unrelatedPID(t *testing.T) int {
	t.Helper()
	return startChild(t, exec.Command("sleep", "300"))
}

func startChild(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// Start returns once the exec is past its point of no return, a moment before the kernel sets
	// up the new command line (it reads empty in between), and the pid file checks identify a
	// process by its command line: wait for the child's own.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if args, err := osutil.ProcessArgs(cmd.Process.Pid); err == nil && slices.Equal(args, cmd.Args) {
			break
		}
	}
	return cmd.Process.Pid
}

// deadPID runs a child process to completion and returns its (now unused) pid.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

func TestStatusFromPIDFiles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// The pid files' contents: a process of the instance ("live"), a dead pid ("dead"), a live process
	// that is not the instance's ("unrelated": the pid was reused after a reboot), or verbatim.
	content := func(dir, what string) string {
		switch what {
		case "live":
			return strconv.Itoa(livePID(t, dir)) + "\n"
		case "dead":
			return strconv.Itoa(deadPID(t)) + "\n"
		case "unrelated":
			return strconv.Itoa(unrelatedPID(t)) + "\n"
		}
		return what
	}
	cases := []struct {
		name, ha, qemu string
		status         Status
		errSubstr      string
	}{
		{name: "stopped", status: StatusStopped},
		{name: "running", ha: "live", qemu: "live", status: StatusRunning},
		{name: "stale", ha: "dead", qemu: "dead", status: StatusStopped},
		{name: "unrelated", ha: "unrelated", qemu: "unrelated", status: StatusStopped},
		{name: "noha", qemu: "live", status: StatusBroken, errSubstr: "hostagent is not running but qemu is"},
		{name: "nodriver", ha: "live", qemu: "dead", status: StatusBroken, errSubstr: "but qemu is not"},
		{name: "garbage", ha: "not-a-pid\n", status: StatusBroken, errSubstr: "does not hold a pid"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := f.instance(c.name, "")
			if c.ha != "" {
				f.write(c.name, filenames.HostAgentPID, content(dir, c.ha))
			}
			if c.qemu != "" {
				f.write(c.name, "qemu.pid", content(dir, c.qemu))
			}
			inst, err := Inspect(ctx, c.name)
			if err != nil {
				t.Fatal(err)
			}
			if inst.Status != c.status {
				t.Fatalf("status = %q, want %q (errors %v)", inst.Status, c.status, inst.Errors)
			}
			if got := errors.Join(inst.Errors...); (c.errSubstr == "") != (got == nil) || (got != nil && !strings.Contains(got.Error(), c.errSubstr)) {
				t.Fatalf("errors = %v, want one containing %q", got, c.errSubstr)
			}
			if c.name == "stale" || c.name == "unrelated" {
				for _, p := range []string{filenames.HostAgentPID, "qemu.pid"} {
					if _, err := os.Stat(filepath.Join(dir, p)); !errors.Is(err, os.ErrNotExist) {
						t.Errorf("stale pid file %s was not removed: %v", p, err)
					}
				}
			}
		})
	}
}

func TestInspectBrokenAndMissing(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := os.MkdirAll(filepath.Join(f.limaHome, "empty"), 0o700); err != nil {
		t.Fatal(err)
	}
	inst, err := Inspect(ctx, "empty")
	if err != nil || inst.Status != StatusBroken || len(inst.Errors) == 0 || !strings.Contains(inst.Errors[0].Error(), "lima.yaml is missing") {
		t.Fatalf("dir without lima.yaml: %+v, %v", inst, err)
	}
	f.instance("badyaml", "cpus: [\n")
	if inst, err := Inspect(ctx, "badyaml"); err != nil || inst.Status != StatusBroken {
		t.Fatalf("unparsable lima.yaml: %+v, %v", inst, err)
	}
	if _, err := Inspect(ctx, "nosuch"); !errors.Is(err, ErrNotExist) {
		t.Fatalf("missing instance: got %v, want ErrNotExist", err)
	}
}

func TestInstancesSkipsReserved(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"b", "a", "_disks", ".tmp-c-123"} {
		if err := os.MkdirAll(filepath.Join(f.limaHome, n), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	f.write(".", "stray-file", "x")
	names, err := Instances()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"a", "b"}, names); diff != "" {
		t.Fatalf("Instances (-want +got):\n%s", diff)
	}
}

func TestReadPIDFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.pid")
	if pid, err := ReadPIDFile(p); pid != 0 || err != nil {
		t.Fatalf("missing file: %d, %v", pid, err)
	}
	live := livePID(t, dir)
	_ = os.WriteFile(p, []byte(strconv.Itoa(live)), 0o644)
	if pid, err := ReadPIDFile(p); pid != live || err != nil {
		t.Fatalf("live pid: %d, %v", pid, err)
	}
	_ = os.WriteFile(p, []byte(strconv.Itoa(deadPID(t))), 0o644)
	if pid, err := ReadPIDFile(p); pid != 0 || err != nil {
		t.Fatalf("dead pid: %d, %v", pid, err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("dead pid file not removed")
	}
}

func TestMessageTemplate(t *testing.T) {
	f := newFixture(t)
	f.instance("vm", "message: |\n  {{.Name}} ({{.VMType}}) on {{.HostOS}}/{{.HostArch}}, {{.Param.greeting}}\nparam:\n  greeting: hi\nprovision:\n- mode: system\n  script: echo {{.Param.greeting}}\n")
	inst, err := Inspect(context.Background(), "vm")
	if err != nil {
		t.Fatal(err)
	}
	want := "vm (qemu) on " + runtime.GOOS + "/" + HostArch() + ", hi\n"
	if inst.Message != want || len(inst.Errors) != 0 {
		t.Errorf("message = %q (errors %v), want %q", inst.Message, inst.Errors, want)
	}
}
