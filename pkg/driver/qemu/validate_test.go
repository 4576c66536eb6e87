package qemu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// Validate plans without probing: it looks up QEMU and firmware but starts nothing.
func TestValidate(t *testing.T) {
	if _, err := exec.LookPath(BinaryName(HostArch())); err != nil {
		t.Skip("QEMU is not installed")
	}
	t.Setenv("LIMA_QEMU_ACCEL", "")
	home, err := os.MkdirTemp("", "lh") // short: the user-v2 socket path must fit
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(home) })
	t.Setenv("LIMA_HOME", home) // networks.yaml is written there
	tests := []struct {
		name string
		edit func(*limayaml.LimaYAML)
		want error
	}{
		{"default", func(*limayaml.LimaYAML) {}, nil},
		{"9p", func(y *limayaml.LimaYAML) { y.MountType = ptr(limayaml.NINEP) }, nil},
		{"wsl2 mounts", func(y *limayaml.LimaYAML) { y.MountType = ptr(limayaml.WSLMount) }, driver.ErrInvalidConfig},
		{"extra networks", func(y *limayaml.LimaYAML) { y.Networks = []limayaml.Network{{Lima: "shared"}} }, driver.ErrUnsupported},
		{"socket network", func(y *limayaml.LimaYAML) { y.Networks = []limayaml.Network{{Socket: "/var/run/x.sock"}} }, driver.ErrUnsupported},
		{"user-v2 network", func(y *limayaml.LimaYAML) {
			y.Networks = []limayaml.Network{{Lima: "user-v2", MACAddress: "52:55:55:12:34:56", Interface: "lima0"}}
		}, nil},
		{"too new minimumVersion", func(y *limayaml.LimaYAML) { y.VMOpts.QEMU.MinimumVersion = ptr("99.0.0") }, driver.ErrUnsupported},
		{"bad memory", func(y *limayaml.LimaYAML) { y.Memory = ptr("much") }, driver.ErrInvalidConfig},
	}
	t.Run("bad LIMA_QEMU_ACCEL", func(t *testing.T) {
		t.Setenv("LIMA_QEMU_ACCEL", "xen")
		y := baseConfig(HostArch())
		y.Firmware.LegacyBIOS = ptr(HostArch() == limayaml.X8664)
		err := New(driver.Config{Name: "vm", InstanceDir: t.TempDir(), Config: y}).Validate(context.Background())
		if !errors.Is(err, driver.ErrInvalidConfig) {
			t.Fatalf("Validate = %v, want ErrInvalidConfig", err)
		}
	})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := baseConfig(HostArch())
			y.Firmware.LegacyBIOS = ptr(HostArch() == limayaml.X8664)
			tt.edit(y)
			err := New(driver.Config{Name: "vm", InstanceDir: t.TempDir(), Config: y}).Validate(context.Background())
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Validate = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestVersionLess(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{{"7.2.22", "8.2.1", true}, {"8.2.1", "8.2.1", false}, {"9.0", "8.2.1", false}, {"8.2", "8.2.1", true}} {
		if got := versionLess(c.a, c.b); got != c.want {
			t.Errorf("versionLess(%s, %s) = %v", c.a, c.b, got)
		}
	}
}
