package store

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/store/filenames"
)

// listFixture makes one instance of each kind: stopped, running (real processes, ssh.config
// naming the port), protected vz/aarch64, and broken (no lima.yaml).
func listFixture(t *testing.T) (*fixture, []*Instance) {
	f := newFixture(t)
	f.instance("alpha", "")
	f.instance("beta", "message: |\n  Hello from {{.Name}}\n")
	f.write("beta", filenames.HostAgentPID, "1")
	f.write("beta", filenames.HostAgentPID, itoa(livePID(t, filepath.Join(f.limaHome, "beta"))))
	f.write("beta", "qemu.pid", itoa(livePID(t, filepath.Join(f.limaHome, "beta"))))
	f.write("beta", filenames.SSHConfig, "Host lima-beta\n  Hostname 127.0.0.1\n  Port 60022\n")
	f.instance("gamma", "vmType: vz\narch: aarch64\ncpus: 8\nmemory: 16GiB\ndisk: 200GiB\n")
	f.write("gamma", filenames.Protected, "")
	if err := os.MkdirAll(filepath.Join(f.limaHome, "zeta"), 0o700); err != nil {
		t.Fatal(err)
	}
	names, err := Instances()
	if err != nil {
		t.Fatal(err)
	}
	var insts []*Instance
	for _, n := range names {
		inst, err := Inspect(context.Background(), n)
		if err != nil {
			t.Fatal(err)
		}
		// The filled config depends on the host (user, home, CPU type); its presence is checked
		// in TestJSONHasConfig, the goldens leave it out.
		inst.Config = nil
		inst.CPUType = ""
		insts = append(insts, inst)
	}
	return f, insts
}

func itoa(n int) string { return strconv.Itoa(n) }

var pidRE = regexp.MustCompile(`("?(?:hostAgentPID|driverPID)"?:\s*)\d+`)

// hostFactRE matches the host's OS and arch in --format json and yaml, which vary by machine.
var hostFactRE = regexp.MustCompile(`("?Host(?:OS|Arch)"?: ?)"?[a-z0-9_]+"?`)

func normalize(f *fixture, s string) string {
	s = strings.ReplaceAll(s, f.home, "$HOME")
	s = hostFactRE.ReplaceAllString(s, "${1}HOST")
	return pidRE.ReplaceAllString(s, "${1}PID")
}

func TestPrintInstancesGolden(t *testing.T) {
	f, insts := listFixture(t)
	for _, tc := range []struct{ golden, format string }{
		{"list-table.golden", "table"},
		{"list-json.golden", "json"},
		{"list-yaml.golden", "yaml"},
		{"list-template.golden", "{{.Name}} {{.Status}} {{.SSHLocalPort}} {{.Protected}} {{.Dir}} {{.LimaHome}}"},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			var b bytes.Buffer
			if err := PrintInstances(&b, insts, tc.format, nil); err != nil {
				t.Fatal(err)
			}
			checkGolden(t, tc.golden, normalize(f, b.String()))
		})
	}
}

func TestTableHidesUniformColumnsWhenNarrow(t *testing.T) {
	f := newFixture(t)
	f.instance("one", "")
	inst, err := Inspect(context.Background(), "one")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := PrintInstances(&b, []*Instance{inst}, "table", &PrintOptions{TerminalWidth: 60}); err != nil {
		t.Fatal(err)
	}
	if header := strings.Fields(strings.SplitN(b.String(), "\n", 2)[0]); cmp.Equal(header, []string{"NAME", "STATUS", "SSH", "VMTYPE", "ARCH", "CPUS", "MEMORY", "DISK", "DIR"}) {
		t.Fatalf("narrow terminal kept every column: %v", header)
	}
	b.Reset()
	if err := PrintInstances(&b, []*Instance{inst}, "table", &PrintOptions{TerminalWidth: 60, AllFields: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(b.String(), "NAME") || !strings.Contains(b.String(), "VMTYPE") {
		t.Fatalf("--all-fields dropped a column:\n%s", b.String())
	}
}

func TestJSONHasConfig(t *testing.T) {
	f := newFixture(t)
	f.instance("one", "")
	inst, err := Inspect(context.Background(), "one")
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := PrintInstances(&b, []*Instance{inst}, "json", nil); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), `"config":{`) || !strings.Contains(b.String(), `"images":[`) {
		t.Fatalf("json lacks the config: %s", b.String())
	}
}

func TestListFields(t *testing.T) {
	fields := ListFields()
	if !slices.IsSorted(fields) {
		t.Errorf("ListFields is not sorted: %v", fields)
	}
	for _, want := range []string{"Name", "Status", "SSHLocalPort", "Config", "CPUs", "Protected"} {
		if !slices.Contains(fields, want) {
			t.Errorf("ListFields lacks %s: %v", want, fields)
		}
	}
	// Deprecated, as in Lima: not listed, but a template may still use them.
	for _, gone := range []string{"HostOS", "HostArch", "LimaHome", "IdentityFile", "CPUType"} {
		if slices.Contains(fields, gone) {
			t.Errorf("ListFields lists the deprecated %s: %v", gone, fields)
		}
	}
	var b bytes.Buffer
	if err := PrintInstances(&b, []*Instance{{Name: "x"}}, "{{.HostOS}} {{.HostArch}} {{.LimaHome}} {{.IdentityFile}}", nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "<no value>") || len(strings.Fields(b.String())) != 4 {
		t.Errorf("deprecated fields in a template: %q", b.String())
	}
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run `go test -update` to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Fatalf("%s mismatch (-want +got):\n%s", name, diff)
	}
}
