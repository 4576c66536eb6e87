package vz

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func ptr[T any](v T) *T { return &v }

// baseConfig is a FillDefault-ed lima.yaml as the plan sees it.
func baseConfig(arch limayaml.Arch) *limayaml.LimaYAML {
	return &limayaml.LimaYAML{
		VMType:               ptr(limayaml.VZ),
		Arch:                 ptr(arch),
		CPUs:                 ptr(4),
		Memory:               ptr("4GiB"),
		Disk:                 ptr("100GiB"),
		MountType:            ptr(limayaml.REVSSHFS),
		Images:               []limayaml.Image{{File: limayaml.File{Location: "https://example.com/img-" + arch + ".img", Arch: arch}}},
		Mounts:               []limayaml.Mount{{Location: "/Users/u", MountPoint: ptr("/Users/u"), Writable: ptr(false)}},
		Firmware:             limayaml.Firmware{LegacyBIOS: ptr(false)},
		NestedVirtualization: ptr(false),
		VMOpts:               limayaml.VMOpts{VZ: limayaml.VZOpts{Rosetta: limayaml.Rosetta{Enabled: ptr(false), BinFmt: ptr(false)}}},
	}
}

func armHost() HostFacts {
	return HostFacts{MacOSVersion: "14.5", Arch: limayaml.AARCH64, Rosetta: RosettaInstalled, MaxCPUs: 10}
}

func intelHost() HostFacts {
	return HostFacts{MacOSVersion: "13.6.1", Arch: limayaml.X8664, Rosetta: RosettaUnsupported, MaxCPUs: 8}
}

func cfgFor(y *limayaml.LimaYAML) driver.Config {
	return driver.Config{Name: "vm1", InstanceDir: "/Users/u/.lima/vm1", Config: y, SSHLocalPort: 60022}
}

func TestPlanGolden(t *testing.T) {
	tests := []struct {
		name string
		cfg  func() driver.Config
		host func() HostFacts
	}{
		{
			name: "arm64-efi-cloud-image",
			cfg:  func() driver.Config { return cfgFor(baseConfig(limayaml.AARCH64)) },
			host: armHost,
		},
		{
			name: "amd64-kernel-boot",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.X8664)
				y.Images[0].Kernel = &limayaml.Kernel{File: limayaml.File{Location: "https://example.com/vmlinuz"}, Cmdline: "root=/dev/vda rw quiet"}
				y.Images[0].Initrd = &limayaml.File{Location: "https://example.com/initrd"}
				y.AdditionalDisks = []limayaml.Disk{{Name: "data"}}
				return cfgFor(y)
			},
			host: intelHost,
		},
		{
			name: "amd64-before-13.5-rosetta-ignored",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.X8664)
				y.VMOpts.VZ.Rosetta.Enabled = ptr(true)
				return cfgFor(y)
			},
			host: func() HostFacts { h := intelHost(); h.MacOSVersion = "13.4"; return h },
		},
		{
			name: "arm64-virtiofs-mounts",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.MountType = ptr(limayaml.VIRTIOFS)
				y.Mounts = []limayaml.Mount{
					{Location: "/Users/u", MountPoint: ptr("/Users/u"), Writable: ptr(false)},
					{Location: "/tmp/lima", MountPoint: ptr("/tmp/lima"), Writable: ptr(true)},
				}
				y.Networks = []limayaml.Network{{VZNAT: ptr(true), MACAddress: "52:55:55:aa:bb:cc"}}
				return cfgFor(y)
			},
			host: armHost,
		},
		{
			name: "arm64-rosetta-on",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.VMOpts.VZ.Rosetta = limayaml.Rosetta{Enabled: ptr(true), BinFmt: ptr(true)}
				return cfgFor(y)
			},
			host: armHost,
		},
		{
			name: "arm64-rosetta-not-installed",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.VMOpts.VZ.Rosetta = limayaml.Rosetta{Enabled: ptr(true)}
				return cfgFor(y)
			},
			host: func() HostFacts { h := armHost(); h.Rosetta = RosettaNotInstalled; return h },
		},
		{
			name: "arm64-nested-virt",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.NestedVirtualization = ptr(true)
				y.CPUs = ptr(16)
				y.Memory = ptr("3.5GiB")
				return cfgFor(y)
			},
			host: func() HostFacts {
				h := armHost()
				h.MacOSVersion, h.NestedVirtualization = "15.1", true
				return h
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			spec, err := Plan(tt.cfg(), tt.host())
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			got, err := json.MarshalIndent(spec, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("plan differs from %s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

func TestPlanErrors(t *testing.T) {
	tests := []struct {
		name  string
		cfg   func() driver.Config
		host  func() HostFacts
		kind  error
		wants []string
	}{
		{
			name:  "macos-12",
			cfg:   func() driver.Config { return cfgFor(baseConfig(limayaml.AARCH64)) },
			host:  func() HostFacts { h := armHost(); h.MacOSVersion = "12.6"; return h },
			kind:  driver.ErrUnsupported,
			wants: []string{"macOS 13 or later", "12.6", "vmType: qemu"},
		},
		{
			name: "legacy-bios",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.X8664)
				y.Firmware.LegacyBIOS = ptr(true)
				return cfgFor(y)
			},
			host:  intelHost,
			kind:  driver.ErrInvalidConfig,
			wants: []string{"firmware.legacyBIOS", "vmType: qemu"},
		},
		{
			name:  "guest-arch-differs",
			cfg:   func() driver.Config { return cfgFor(baseConfig(limayaml.X8664)) },
			host:  armHost,
			kind:  driver.ErrInvalidConfig,
			wants: []string{"x86_64", "aarch64", "vmType: qemu"},
		},
		{
			name: "nested-virt-on-m1",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.NestedVirtualization = ptr(true)
				return cfgFor(y)
			},
			host:  func() HostFacts { h := armHost(); h.MacOSVersion = "15.0"; return h },
			kind:  driver.ErrUnsupported,
			wants: []string{"nestedVirtualization", "M3"},
		},
		{
			name: "nested-virt-macos-14",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.NestedVirtualization = ptr(true)
				return cfgFor(y)
			},
			host:  func() HostFacts { h := armHost(); h.NestedVirtualization = true; return h },
			kind:  driver.ErrUnsupported,
			wants: []string{"macOS 15"},
		},
		{
			name: "9p",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.MountType = ptr(limayaml.NINEP)
				return cfgFor(y)
			},
			host:  armHost,
			kind:  driver.ErrInvalidConfig,
			wants: []string{"mountType", "virtiofs"},
		},
		{
			name: "rosetta-unsupported",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.VMOpts.VZ.Rosetta.Enabled = ptr(true)
				return cfgFor(y)
			},
			host:  func() HostFacts { h := armHost(); h.Rosetta = RosettaUnsupported; return h },
			kind:  driver.ErrUnsupported,
			wants: []string{"vmOpts.vz.rosetta.enabled"},
		},
		{
			name: "socket-network",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.Networks = []limayaml.Network{{Socket: "/var/run/socket_vmnet"}}
				return cfgFor(y)
			},
			host:  armHost,
			kind:  driver.ErrUnsupported,
			wants: []string{"networks[0]", "vzNAT"},
		},
	}
	var all strings.Builder
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Plan(tt.cfg(), tt.host())
			if err != nil {
				all.WriteString(tt.name + ": " + err.Error() + "\n")
			}
			if !errors.Is(err, tt.kind) {
				t.Fatalf("Plan error = %v, want one wrapping %q", err, tt.kind)
			}
			for _, w := range tt.wants {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Plan error %q does not mention %q", err, w)
				}
			}
		})
	}
	// The messages users read, all in one golden file.
	golden := filepath.Join("testdata", "errors.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(all.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), all.String()); diff != "" {
		t.Errorf("error messages differ from %s (-want +got):\n%s", golden, diff)
	}
}

// TestIntelWarningNotRepeated checks that the Intel-before-13.5 issue is left to limayaml, whose
// Validate warns about it (TestVZHostRules there): the plan logs nothing and only notes it.
func TestIntelWarningNotRepeated(t *testing.T) {
	var logs bytes.Buffer
	old := logrus.StandardLogger().Out
	logrus.SetOutput(&logs)
	t.Cleanup(func() { logrus.SetOutput(old) })
	spec, err := Plan(cfgFor(baseConfig(limayaml.X8664)), HostFacts{MacOSVersion: "13.4", Arch: limayaml.X8664})
	if err != nil {
		t.Fatal(err)
	}
	if logs.Len() > 0 {
		t.Errorf("Plan logged %q; limayaml.Validate already warns", logs.String())
	}
	if !strings.Contains(strings.Join(spec.Notes, "\n"), "13.5") {
		t.Errorf("the plan does not note the Intel-before-13.5 issue: %q", spec.Notes)
	}
}

func TestKernelCmdline(t *testing.T) {
	for in, want := range map[string]string{
		"":                          "console=hvc0",
		"root=/dev/vda":             "root=/dev/vda console=hvc0",
		"console=ttyS0 root=/dev/x": "console=ttyS0 root=/dev/x",
	} {
		if got := kernelCmdline(in); got != want {
			t.Errorf("kernelCmdline(%q) = %q, want %q", in, got, want)
		}
	}
}
