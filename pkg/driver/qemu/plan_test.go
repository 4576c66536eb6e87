package qemu

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func ptr[T any](v T) *T { return &v }

// baseConfig is a FillDefault-ed lima.yaml as the plan sees it.
func baseConfig(arch limayaml.Arch) *limayaml.LimaYAML {
	return &limayaml.LimaYAML{
		VMType:    ptr(limayaml.QEMU),
		Arch:      ptr(arch),
		CPUs:      ptr(4),
		Memory:    ptr("4GiB"),
		Disk:      ptr("100GiB"),
		MountType: ptr(limayaml.REVSSHFS),
		Images:    []limayaml.Image{{File: limayaml.File{Location: "https://example.com/img-" + arch + ".qcow2", Arch: arch}}},
		Video:     limayaml.Video{Display: ptr("none")},
		Mounts:    []limayaml.Mount{{Location: "/home/u", MountPoint: ptr("/home/u"), Writable: ptr(false)}},
		Firmware:  limayaml.Firmware{LegacyBIOS: ptr(false)},
	}
}

func linuxHost(accel string) HostFacts {
	return HostFacts{
		OS: "linux", Arch: limayaml.X8664, Accel: accel,
		QEMUBinary: "/usr/bin/qemu-system-x86_64", QEMUVersion: "7.2.22",
		HomeDir: "/home/u", TempDir: "/tmp", UID: 1000,
		FirmwarePaths: []string{"/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/qemu/OVMF.fd"},
	}
}

func cfgFor(y *limayaml.LimaYAML) driver.Config {
	return driver.Config{Name: "vm1", InstanceDir: "/home/u/.lima/vm1", Config: y, SSHLocalPort: 60022}
}

func TestMakePlanGolden(t *testing.T) {
	tests := []struct {
		name string
		cfg  func() driver.Config
		host func() HostFacts
	}{
		{
			name: "x86_64-kvm-uefi",
			cfg:  func() driver.Config { return cfgFor(baseConfig(limayaml.X8664)) },
			host: func() HostFacts { return linuxHost(AccelKVM) },
		},
		{
			name: "x86_64-tcg-legacybios-9p",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.X8664)
				y.Firmware.LegacyBIOS = ptr(true)
				y.MountType = ptr(limayaml.NINEP)
				y.Mounts = []limayaml.Mount{
					{Location: "/home/u", MountPoint: ptr("/home/u"), Writable: ptr(false)},
					{Location: "/tmp/lima", MountPoint: ptr("/tmp/lima"), Writable: ptr(true), NineP: limayaml.NineP{SecurityModel: ptr("mapped-xattr")}},
				}
				return cfgFor(y)
			},
			host: func() HostFacts {
				h := linuxHost(AccelTCG)
				h.TunnelRing = true // Start made the ring's memfd: an ivshmem device for it
				return h
			},
		},
		{
			name: "x86_64-tcg-direct-kernel-virtiofs",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.X8664)
				y.Images[0].Kernel = &limayaml.Kernel{File: limayaml.File{Location: "https://example.com/vmlinuz"}, Cmdline: "console=ttyS0 root=/dev/vda rw quiet"}
				y.Images[0].Initrd = &limayaml.File{Location: "https://example.com/initrd"}
				y.MountType = ptr(limayaml.VIRTIOFS)
				y.Mounts = append(y.Mounts, limayaml.Mount{Location: "/srv/data", Writable: ptr(true), Virtiofs: limayaml.Virtiofs{QueueSize: ptr(512)}})
				y.VMOpts.QEMU.CPUType = limayaml.CPUType{limayaml.X8664: "host"}
				return cfgFor(y)
			},
			host: func() HostFacts {
				h := linuxHost(AccelTCG)
				h.Virtiofsd = "/usr/lib/qemu/virtiofsd"
				h.UID = 0 // the C virtiofsd runs only as root; the read-only mount gets a read-only bind
				return h
			},
		},
		{
			name: "aarch64-tcg-aavmf",
			cfg:  func() driver.Config { return cfgFor(baseConfig(limayaml.AARCH64)) },
			host: func() HostFacts {
				h := linuxHost(AccelTCG)
				h.QEMUBinary = "/usr/bin/qemu-system-aarch64"
				h.FirmwarePaths = append(h.FirmwarePaths, "/usr/share/AAVMF/AAVMF_CODE.fd", "/usr/share/qemu-efi-aarch64/QEMU_EFI.fd")
				return h
			},
		},
		{
			name: "aarch64-tcg-qemu-efi-bios",
			cfg:  func() driver.Config { return cfgFor(baseConfig(limayaml.AARCH64)) },
			host: func() HostFacts {
				h := linuxHost(AccelTCG)
				h.QEMUBinary = "/usr/bin/qemu-system-aarch64"
				h.FirmwarePaths = []string{"/usr/share/qemu-efi-aarch64/QEMU_EFI.fd"}
				return h
			},
		},
		{
			name: "aarch64-hvf-homebrew-vnc",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.AARCH64)
				y.Video.Display = ptr("vnc")
				y.MountType = ptr(limayaml.NINEP)
				return cfgFor(y)
			},
			host: func() HostFacts {
				return HostFacts{
					OS: "darwin", Arch: limayaml.AARCH64, Accel: AccelHVF,
					QEMUBinary: "/opt/homebrew/bin/qemu-system-aarch64", QEMUVersion: "9.2.0",
					HomeDir: "/Users/u", TempDir: "/var/folders/xx/T", UID: 501,
					FirmwarePaths: []string{"/opt/homebrew/share/qemu/edk2-aarch64-code.fd"},
				}
			},
		},
		{
			name: "x86_64-firmware-images",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.X8664)
				y.Firmware.Images = []limayaml.FileWithVMType{{File: limayaml.File{Location: "https://example.com/OVMF_CODE.fd", Arch: limayaml.X8664}}}
				y.AdditionalDisks = []limayaml.Disk{{Name: "data"}, {Name: "scratch"}}
				return cfgFor(y)
			},
			host: func() HostFacts {
				h := linuxHost(AccelKVM)
				h.DiskFormats = map[string]string{"data": "qcow2", "scratch": "raw"}
				return h
			},
		},
		{
			name: "x86_64-kvm-user-v2",
			cfg: func() driver.Config {
				y := baseConfig(limayaml.X8664)
				y.Networks = []limayaml.Network{
					{Lima: "user-v2", MACAddress: "52:55:55:12:34:56", Interface: "lima0"},
					{Lima: "lab", MACAddress: "52:55:55:ab:cd:ef", Interface: "lima1"},
				}
				return cfgFor(y)
			},
			host: func() HostFacts {
				h := linuxHost(AccelKVM)
				h.UsernetSockets = map[string]string{
					"user-v2": "/home/u/.lima/_networks/user-v2/user-v2_qemu.sock",
					"lab":     "/home/u/.lima/_networks/lab,x/lab_qemu.sock", // a comma is escaped
				}
				return h
			},
		},
		{
			name: "long-instance-dir",
			cfg: func() driver.Config {
				c := cfgFor(baseConfig(limayaml.X8664))
				c.Name = "an-instance-with-a-rather-long-name-indeed"
				c.InstanceDir = "/home/someone-with-a-long-user-name/projects/deeply/nested/lima-home/" + c.Name
				return c
			},
			host: func() HostFacts { return linuxHost(AccelTCG) },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := MakePlan(tt.cfg(), tt.host())
			if err != nil {
				t.Fatalf("MakePlan: %v", err)
			}
			got := p.String()
			golden := filepath.Join("testdata", tt.name+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("plan differs from %s (-want +got):\n%s", golden, diff)
			}
			// QEMU never probes a format: every drive names its own.
			for i, a := range p.Args {
				if a == "-drive" && i+1 < len(p.Args) && !strings.Contains(p.Args[i+1], ",format=") && !strings.HasPrefix(p.Args[i+1], "format=") {
					t.Errorf("-drive %s has no format=", p.Args[i+1])
				}
			}
			for _, s := range []string{p.Sockets.QMP, p.Sockets.Serial, p.Sockets.GuestAgent} {
				if len(s) > maxSocketPath(tt.host().OS) {
					t.Errorf("socket path %s is %d bytes, over the limit", s, len(s))
				}
			}
		})
	}
}

func TestMakePlanErrors(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*driver.Config, *HostFacts)
		kind   error
		substr string
	}{
		{"no firmware", func(c *driver.Config, h *HostFacts) { h.FirmwarePaths = nil }, driver.ErrNotFound, "install ovmf"},
		{"kvm for a foreign arch", func(c *driver.Config, h *HostFacts) { c.Config.Arch = ptr(limayaml.AARCH64) }, driver.ErrInvalidConfig, "only tcg"},
		{"riscv64", func(c *driver.Config, h *HostFacts) { c.Config.Arch = ptr(limayaml.RISCV64); h.Accel = AccelTCG }, driver.ErrUnsupported, "riscv64"},
		{"legacyBIOS on aarch64", func(c *driver.Config, h *HostFacts) {
			c.Config.Arch = ptr(limayaml.AARCH64)
			c.Config.Firmware.LegacyBIOS = ptr(true)
			h.Accel = AccelTCG
		}, driver.ErrInvalidConfig, "legacyBIOS"},
		{"virtiofs on darwin", func(c *driver.Config, h *HostFacts) { c.Config.MountType = ptr(limayaml.VIRTIOFS); h.OS = "darwin" }, driver.ErrUnsupported, "Linux host"},
		{"virtiofs without virtiofsd", func(c *driver.Config, h *HostFacts) { c.Config.MountType = ptr(limayaml.VIRTIOFS) }, driver.ErrNotFound, "virtiofsd"},
		{"wsl2 mounts", func(c *driver.Config, h *HostFacts) { c.Config.MountType = ptr(limayaml.WSLMount) }, driver.ErrInvalidConfig, "wsl2"},
		{"no ssh port", func(c *driver.Config, h *HostFacts) { c.SSHLocalPort = 0 }, driver.ErrInvalidConfig, "SSH"},
		{"bad memory", func(c *driver.Config, h *HostFacts) { c.Config.Memory = ptr("lots") }, driver.ErrInvalidConfig, "lots"},
		// QEMU must never probe an additional disk: the guest writes it.
		{"additional disk without a format", func(c *driver.Config, h *HostFacts) {
			c.Config.AdditionalDisks = []limayaml.Disk{{Name: "data"}}
		}, driver.ErrInvalidConfig, `disk "data" has format ""`},
		{"additional disk of another format", func(c *driver.Config, h *HostFacts) {
			c.Config.AdditionalDisks = []limayaml.Disk{{Name: "data"}}
			h.DiskFormats = map[string]string{"data": "vmdk"}
		}, driver.ErrInvalidConfig, `"vmdk"`},
		{"a socket network", func(c *driver.Config, h *HostFacts) {
			c.Config.Networks = []limayaml.Network{{Socket: "/var/run/socket_vmnet", MACAddress: "52:55:55:12:34:56"}}
		}, driver.ErrUnsupported, "networks[0]"},
		{"a socket_vmnet network", func(c *driver.Config, h *HostFacts) {
			c.Config.Networks = []limayaml.Network{{Lima: "shared", MACAddress: "52:55:55:12:34:56"}}
			h.UsernetSockets = map[string]string{"user-v2": "/s"}
		}, driver.ErrUnsupported, "user-v2"},
		{"a user-v2 network without a MAC", func(c *driver.Config, h *HostFacts) {
			c.Config.Networks = []limayaml.Network{{Lima: "user-v2"}}
			h.UsernetSockets = map[string]string{"user-v2": "/s"}
		}, driver.ErrInvalidConfig, "macAddress"},
		{"socket paths too long everywhere", func(c *driver.Config, h *HostFacts) {
			c.InstanceDir = "/" + strings.Repeat("d", 120) + "/vm1"
			h.TempDir = "/" + strings.Repeat("t", 120)
		}, driver.ErrInvalidConfig, "longer than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, host := cfgFor(baseConfig(limayaml.X8664)), linuxHost(AccelKVM)
			tt.edit(&cfg, &host)
			_, err := MakePlan(cfg, host)
			if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.substr) {
				t.Fatalf("error = %v, want %q containing %q", err, tt.kind, tt.substr)
			}
		})
	}
}
