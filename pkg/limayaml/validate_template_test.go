package limayaml

import (
	"strings"
	"testing"
)

// validateTemplateOn is validateOn with ValidateTemplate: the rules `limactl validate` applies.
func validateTemplateOn(t *testing.T, h HostInfo, text string) (string, error) {
	t.Helper()
	return validateWith(t, h, text, ValidateTemplate)
}

// A template is valid or not on every host (as in Lima): what only this host lacks is a warning
// for `limactl validate`, and stays an error for create and start (Validate).
func TestValidateTemplateAnyHost(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		host       HostInfo
		warning    string
	}{
		{"vz on linux", seedVZ, linuxHost, "vmType vz needs macOS 13 or later, and this host runs linux"},
		{"vz on macOS 12", seedVZ, macHost("12.6", AARCH64), "vmType vz needs macOS 13 or later, and this host runs macOS 12.6"},
		{"vz arm guest on an Intel Mac", seedVZ + "arch: aarch64\n", macHost("14.0", X8664), "vmType vz runs only guests of the host's arch (x86_64), not aarch64"},
		{"wsl2 on linux", seedWSL2, linuxHost, "vmType wsl2 needs Windows 10 build 19041 or later (or Windows 11), and this host runs linux"},
		{"wsl2 on an old Windows", seedWSL2, windowsHost(18363), "this host is build 18363"},
		{"qemu virtiofs on macOS", validImage + "mountType: virtiofs\n", macHost("14.0", AARCH64), "vmType qemu on a darwin host supports reverse-sshfs, 9p"},
		{"socket_vmnet network on linux", validImage + "networks:\n- lima: shared\n", linuxHost, "(mode shared) is run by socket_vmnet and needs a macOS host, and this host runs linux"},
		{"socket_vmnet network on windows", validImage + "networks:\n- lima: bridged\n", windowsHost(22000), "(mode bridged) is run by socket_vmnet and needs a macOS host, and this host runs windows"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs, err := validateTemplateOn(t, tc.host, tc.text)
			if err != nil {
				t.Fatalf("ValidateTemplate: %v", err)
			}
			if !strings.Contains(logs, tc.warning) || !strings.Contains(logs, "only this host cannot run it") {
				t.Errorf("warnings %q, want %q", logs, tc.warning)
			}
			if _, err := validateOn(t, tc.host, tc.text); err == nil || !strings.Contains(err.Error(), tc.warning) {
				t.Errorf("Validate: %v, want an error with %q", err, tc.warning)
			}
		})
	}
}

// What is wrong on every host stays an error for ValidateTemplate.
func TestValidateTemplateStillRefuses(t *testing.T) {
	for _, tc := range []struct{ name, text, want string }{
		{"vz with 9p", strings.Replace(seedVZ, `mountType: "virtiofs"`, "mountType: 9p", 1), "vmType vz does not support 9p"},
		{"vz with legacyBIOS", seedVZ + "firmware:\n  legacyBIOS: true\n", "boots only with UEFI"},
		{"wsl2 with a disk image", strings.Replace(seedWSL2, "tar.zst", "qcow2", 1), "is not a tar archive"},
		{"unknown vmType", validImage + "vmType: bhyve\n", "vmType"},
		{"vzNAT with qemu", validImage + "networks:\n- vzNAT: true\n", "field `networks[0].vzNAT`: vzNAT works only with vmType vz"},
		{"undefined lima network", validImage + "networks:\n- lima: office\n", "field `networks[0].lima`: network \"office\" is not defined"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := validateTemplateOn(t, linuxHost, tc.text)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("ValidateTemplate: %v, want an error with %q", err, tc.want)
			}
		})
	}
}
