package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run `go list` for darwin, which reads the vz module from the module cache (go mod
// download fetches it when missing).

func moduleRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return root
}

var arches = []string{"arm64", "amd64"}

func TestApplyLayerTypeChecks(t *testing.T) {
	root := moduleRoot(t)
	for _, arch := range arches {
		t.Run(arch, func(t *testing.T) {
			errs, err := Check(Config{Dir: root, GOARCH: arch, Tests: true, Patterns: []string{"./pkg/driver/vz/..."}})
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range errs {
				t.Error(e)
			}
		})
	}
}

// mutate writes a copy of the repository file rel with old replaced by new, and returns the Replace
// map that makes the checker read it instead.
func mutate(t *testing.T, root, rel, old, new string) map[string]string {
	t.Helper()
	orig := filepath.Join(root, rel)
	src, err := os.ReadFile(orig)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(src), old) {
		t.Fatalf("%s no longer contains %q; update the test's mistake", rel, old)
	}
	cp := filepath.Join(t.TempDir(), filepath.Base(rel))
	if err := os.WriteFile(cp, []byte(strings.Replace(string(src), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	return map[string]string{orig: cp}
}

func TestMistakesFail(t *testing.T) {
	root := moduleRoot(t)
	tests := []struct {
		name, file, old, new string
		// want maps GOARCH to a fragment of the expected error; "" means that arch must pass.
		want map[string]string
	}{
		{
			name: "wrong argument type",
			file: "pkg/driver/vz/apply_darwin.go",
			old:  "vz.NewVirtualMachineConfiguration(boot, s.CPUs, s.MemoryBytes)",
			new:  "vz.NewVirtualMachineConfiguration(boot, int(s.CPUs), s.MemoryBytes)",
			want: map[string]string{
				"arm64": "cannot use int(s.CPUs) (value of type int) as uint value in argument to vz.NewVirtualMachineConfiguration",
				"amd64": "cannot use int(s.CPUs) (value of type int) as uint value in argument to vz.NewVirtualMachineConfiguration",
			},
		},
		{
			name: "string where an attachment is needed",
			file: "pkg/driver/vz/apply_darwin.go",
			old:  "vz.NewVirtioBlockDeviceConfiguration(att)",
			new:  "vz.NewVirtioBlockDeviceConfiguration(d.Path)",
			want: map[string]string{"arm64": "StorageDeviceAttachment value in argument to vz.NewVirtioBlockDeviceConfiguration", "amd64": "StorageDeviceAttachment value in argument to vz.NewVirtioBlockDeviceConfiguration"},
		},
		{
			name: "misspelled API",
			file: "pkg/driver/vz/apply_darwin.go",
			old:  "vz.NewNATNetworkDeviceAttachment()",
			new:  "vz.NewNATNetworkAttachment()",
			want: map[string]string{"arm64": "undefined: vz.NewNATNetworkAttachment", "amd64": "undefined: vz.NewNATNetworkAttachment"},
		},
		{
			name: "arm64-only Rosetta API in a file built for both arches",
			file: "pkg/driver/vz/apply_darwin.go",
			old:  "func frameworkAvailable() error { return nil }",
			new:  "func frameworkAvailable() error { _, err := vz.NewLinuxRosettaDirectoryShare(); return err }",
			want: map[string]string{"arm64": "", "amd64": "undefined: vz.NewLinuxRosettaDirectoryShare"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			replace := mutate(t, root, tt.file, tt.old, tt.new)
			for _, arch := range arches {
				errs, err := Check(Config{Dir: root, GOARCH: arch, Patterns: []string{"./pkg/driver/vz"}, Replace: replace})
				if err != nil {
					t.Fatalf("%s: %v", arch, err)
				}
				want := tt.want[arch]
				if want == "" {
					for _, e := range errs {
						t.Errorf("%s: unexpected error: %v", arch, e)
					}
					continue
				}
				found := false
				for _, e := range errs {
					if strings.Contains(e.Error(), want) {
						found = true
					}
				}
				if !found {
					t.Errorf("%s: no error containing %q; got %v", arch, want, errs)
				}
			}
		})
	}
}

// TestVacuousCheckFails guards against a check that passes because nothing calls vz.
func TestVacuousCheckFails(t *testing.T) {
	_, err := Check(Config{Dir: moduleRoot(t), GOARCH: "arm64", Patterns: []string{"./pkg/driver/registry"}})
	if err == nil || !strings.Contains(err.Error(), "nothing was checked against vz") {
		t.Fatalf("Check of a package without vz calls: error = %v, want the vacuous-check error", err)
	}
}
