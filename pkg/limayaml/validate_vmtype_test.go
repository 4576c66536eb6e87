package limayaml

import (
	"bytes"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// The two examples of the seed "VM types" page, as a user would write them.
const seedVZ = `# Example to run ubuntu using vmType: vz instead of qemu (Default)
vmType: "vz"
images:
- location: "https://cloud-images.ubuntu.com/releases/22.04/release/ubuntu-22.04-server-cloudimg-amd64.img"
  arch: "x86_64"
- location: "https://cloud-images.ubuntu.com/releases/22.04/release/ubuntu-22.04-server-cloudimg-arm64.img"
  arch: "aarch64"
mounts:
  - location: "~"
mountType: "virtiofs"
`

const seedWSL2 = `# Example to run Fedora using vmType: wsl2
vmType: wsl2
images:
# Source: https://github.com/runfinch/finch-core/blob/main/Dockerfile
- location: "https://deps.runfinch.com/common/x86-64/finch-rootfs-production-amd64-1690920103.tar.zst"
  arch: "x86_64"
  digest: "sha256:53f2e329b8da0f6a25e025d1f6cc262ae228402ba615ad095739b2f0ec6babc9"
mountType: wsl2 
containerd:
  system: false
  user: false
`

func macHost(version string, arch Arch) HostInfo {
	h := linuxHost
	h.OS, h.MacOSVersion, h.Arch, h.Home = "darwin", version, arch, "/Users/alice"
	return h
}

func windowsHost(build int) HostInfo {
	h := linuxHost
	h.OS, h.WindowsBuild, h.Home = "windows", build, `C:\Users\alice`
	return h
}

// validateOn loads text as instance "test" and validates it on host h, returning the warnings logged
// and the error.
func validateOn(t *testing.T, h HostInfo, text string) (string, error) {
	t.Helper()
	return validateWith(t, h, text, Validate)
}

// validateWith is validateOn with another validator.
func validateWith(t *testing.T, h HostInfo, text string, validate func(*LimaYAML, bool) error) (string, error) {
	t.Helper()
	limaHome := withHost(t, h)
	var logs bytes.Buffer
	old := logrus.StandardLogger().Out
	logrus.SetOutput(&logs)
	t.Cleanup(func() { logrus.SetOutput(old) })
	y, err := Load([]byte(text), instFile(limaHome, "test"))
	if err != nil {
		return logs.String(), err
	}
	err = validate(y, true)
	return logs.String(), err
}

func TestVZHostRules(t *testing.T) {
	const kernelWarning = "Intel Macs before macOS 13.5"
	for _, tc := range []struct {
		name     string
		host     HostInfo
		yaml     string
		wantErr  []string // each must appear; none means valid
		wantWarn string
	}{
		{"macOS 13 arm64 runs the seed example", macHost("13.0", AARCH64), seedVZ, nil, ""},
		{"macOS 14 Intel runs the seed example", macHost("14.2.1", X8664), seedVZ, nil, ""},
		{"macOS 12 is too old", macHost("12.6.7", AARCH64), seedVZ, []string{"field `vmType`: vmType vz needs macOS 13 or later, and this host runs macOS 12.6.7"}, ""},
		{"Linux host", linuxHost, seedVZ, []string{"this host runs linux: use vmType qemu"}, ""},
		{"Windows host", windowsHost(22000), seedVZ, []string{"this host runs windows"}, ""},
		{"Intel macOS 13.4 warns about Linux 6.2", macHost("13.4", X8664), seedVZ, nil, kernelWarning},
		{"Intel macOS 13.5 does not warn", macHost("13.5", X8664), seedVZ, nil, ""},
		{"arm64 macOS 13.4 does not warn", macHost("13.4", AARCH64), seedVZ, nil, ""},
		{"legacyBIOS", macHost("13.0", AARCH64), seedVZ + "firmware:\n  legacyBIOS: true\n", []string{"field `firmware.legacyBIOS`: vmType vz boots only with UEFI", "use vmType qemu"}, ""},
		{"foreign arch", macHost("14.0", AARCH64), seedVZ + "arch: x86_64\n", []string{"field `arch`: vmType vz runs only guests of the host's arch (aarch64), not x86_64: use vmType qemu"}, ""},
		{"9p", macHost("14.0", AARCH64), strings.Replace(seedVZ, `mountType: "virtiofs"`, "mountType: 9p", 1), []string{"field `mountType`: vmType vz does not support 9p"}, ""},
		{"tpm", macHost("14.0", AARCH64), seedVZ + "tpm: true\n", []string{"field `tpm`: vmType vz has no TPM"}, ""},
		{"firmware images", macHost("14.0", AARCH64), seedVZ + "firmware:\n  images:\n  - location: /opt/edk2.fd\n", []string{"field `firmware.images`: vmType vz uses its own UEFI firmware"}, ""},
		{"windows guest", macHost("14.0", AARCH64), seedVZ + "os: Windows\nuser:\n  shell: cmd.exe\n", []string{"field `os`: vmType vz cannot run Windows guests"}, ""},
		{"vz defaults to virtiofs", macHost("13.0", AARCH64), "vmType: vz\n" + validImage[:len(validImage)-len("  arch: x86_64\n")], nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logs, err := validateOn(t, tc.host, tc.yaml)
			checkErr(t, err, tc.wantErr)
			if tc.wantWarn != "" && !strings.Contains(logs, tc.wantWarn) {
				t.Errorf("no warning %q in:\n%s", tc.wantWarn, logs)
			}
			if tc.wantWarn == "" && strings.Contains(logs, kernelWarning) {
				t.Errorf("unexpected kernel warning:\n%s", logs)
			}
		})
	}
}

func checkErr(t *testing.T, err error, want []string) {
	t.Helper()
	if len(want) == 0 {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("no error, want %q", want)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error does not contain %q:\n%v", w, err)
		}
	}
}

func TestWSL2HostRules(t *testing.T) {
	for _, tc := range []struct {
		name    string
		host    HostInfo
		yaml    string
		wantErr []string
	}{
		{"build 19041 runs the seed example", windowsHost(19041), seedWSL2, nil},
		{"Windows 11 (22000) runs the seed example", windowsHost(22000), seedWSL2, nil},
		{"build 19040 is too old", windowsHost(19040), seedWSL2, []string{"field `vmType`: vmType wsl2 needs Windows 10 build 19041 or later (or Windows 11), and this host is build 19040"}},
		{"Linux host", linuxHost, seedWSL2, []string{"this host runs linux: use vmType qemu"}},
		{"macOS host", macHost("14.0", X8664), seedWSL2, []string{"this host runs darwin"}},
		{"disk image instead of rootfs tar", windowsHost(22000), "vmType: wsl2\n" + validImage, []string{"field `images[0].location`: \"https://example.com/debian-13-genericcloud-amd64.qcow2\" is not a tar archive"}},
		{"every tar spelling", windowsHost(22000), "vmType: wsl2\nimages:\n- location: a.tar\n- location: b.tar.gz\n- location: c.tgz\n- location: d.tar.xz\n- location: e.tar.zst\n- location: https://x/f.TAR.ZST?sig=1\n", nil},
		{"kernel", windowsHost(22000), "vmType: wsl2\nimages:\n- location: https://x/root.tar\n  kernel:\n    location: https://x/vmlinuz\n", []string{"WSL2 boots its own kernel"}},
		{"other mount type", windowsHost(22000), strings.Replace(seedWSL2, "mountType: wsl2 ", "mountType: reverse-sshfs", 1), []string{"field `mountType`: vmType wsl2 shares host folders only with mountType wsl2, not \"reverse-sshfs\""}},
		{"additionalDisks", windowsHost(22000), seedWSL2 + "additionalDisks: [data]\n", []string{"field `additionalDisks`: vmType wsl2 does not support additional disks"}},
		{"networks", windowsHost(22000), seedWSL2 + "networks:\n- lima: user-v2\n", []string{"field `networks`: vmType wsl2 does not support extra networks"}},
		{"socket forward", windowsHost(22000), seedWSL2 + "portForwards:\n- guestSocket: /run/docker.sock\n  hostSocket: /tmp/docker.sock\n", []string{"field `portForwards[0]`: vmType wsl2 does not support forwarding Unix sockets"}},
		{"legacyBIOS", windowsHost(22000), seedWSL2 + "firmware:\n  legacyBIOS: true\n", []string{"field `firmware.legacyBIOS`: vmType wsl2 does not support"}},
		{"firmware images", windowsHost(22000), seedWSL2 + "firmware:\n  images:\n  - location: /x.fd\n", []string{"field `firmware.images`"}},
		{"video", windowsHost(22000), seedWSL2 + "video:\n  display: vnc\n", []string{"field `video.display`: vmType wsl2 does not support a display"}},
		{"audio", windowsHost(22000), seedWSL2 + "audio:\n  device: default\n", []string{"field `audio.device`"}},
		{"tpm", windowsHost(22000), seedWSL2 + "tpm: true\n", []string{"field `tpm`: vmType wsl2 does not support a TPM"}},
		{"cpus", windowsHost(22000), seedWSL2 + "cpus: 2\n", []string{"field `cpus`: vmType wsl2 does not support a CPU count"}},
		{"memory", windowsHost(22000), seedWSL2 + "memory: 2GiB\n", []string{"field `memory`"}},
		{"disk", windowsHost(22000), seedWSL2 + "disk: 10GiB\n", []string{"field `disk`"}},
		{"default sizes written out are fine", windowsHost(22000), seedWSL2 + "cpus: 4\nmemory: 4GiB\ndisk: 100GiB\n", nil},
		{"rosetta", windowsHost(22000), seedWSL2 + "vmOpts:\n  vz:\n    rosetta:\n      enabled: true\n", []string{"field `vmOpts.vz.rosetta`"}},
		{"nested virtualization", windowsHost(22000), seedWSL2 + "nestedVirtualization: true\n", []string{"field `nestedVirtualization`"}},
		{"passwordless sudo off", windowsHost(22000), seedWSL2 + "plain: true\nuser:\n  passwordlessSudo: false\n", []string{"WSL2 needs passwordless sudo"}},
		{"several at once", windowsHost(19040), seedWSL2 + "tpm: true\ncpus: 1\n", []string{"build 19040", "field `tpm`", "field `cpus`"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := validateOn(t, tc.host, tc.yaml)
			checkErr(t, err, tc.wantErr)
		})
	}
}

func TestValidateWarnings(t *testing.T) {
	for _, tc := range []struct {
		name, yaml, want string
	}{
		{"missing mount location", "mounts:\n- location: /nonexistent/dir\n", "field `mounts[0].location`: \\\"/nonexistent/dir\\\" does not exist"},
		{"experimental arch", "arch: riscv64\nimages:\n- location: https://x/r.img\n", "riscv64 guests are experimental"},
		{"virtiofs on linux", "mountType: virtiofs\n", "virtiofs with qemu on Linux is experimental"},
		{"ansible", "provision:\n- mode: ansible\n", "mode ansible is deprecated"},
		{"LIMA_CIDATA", "provision:\n- script: echo $LIMA_CIDATA_USER\n", "LIMA_CIDATA variables are internal"},
		{"plain mode range", "plain: true\nuser:\n  passwordlessSudo: false\nportForwards:\n- guestPortRange: [8000, 8100]\n  static: true\n", "a range of 101 ports is slow"},
		{"mountInotify", "mountInotify: true\n", "mountInotify is experimental"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := tc.yaml
			if !strings.Contains(text, "images:") {
				text = validImage + text
			}
			logs, err := validateOn(t, linuxHost, text)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(logs, tc.want) {
				t.Errorf("no warning %q in:\n%s", tc.want, logs)
			}
		})
	}
}

func TestValidateAgainstLatestConfig(t *testing.T) {
	for _, tc := range []struct {
		name, latest, edited string
		want                 string
	}{
		{"grow disk", "disk: 20GiB\n", "disk: 30GiB\n", ""},
		{"same disk spelled differently", "disk: 1GiB\n", "disk: 1024MiB\n", ""},
		{"shrink disk", "disk: 20GiB\n", "disk: 10GiB\n", "field `disk`: shrinking the disk (20GiB --> 10GiB) is not supported"},
		{"shrink below the default", "", "disk: 50GiB\n", "shrinking the disk (100GiB --> 50GiB)"},
		{"no disk in the edit", "disk: 20GiB\n", "cpus: 2\n", ""},
		{"vmType kept", "vmType: vz\n", "vmType: vz\ncpus: 3\n", ""},
		{"vmType changed", "vmType: qemu\n", "vmType: vz\n", "the vmType of an existing instance cannot change (qemu --> vz): create a new instance"},
		{"vmType set where it was defaulted", "", "vmType: wsl2\n", "cannot change (qemu --> wsl2)"},
		{"edit that does not parse", "", "cpus: [\n", "the edited config:1:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateAgainstLatestConfig([]byte(tc.edited), []byte(tc.latest))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}
