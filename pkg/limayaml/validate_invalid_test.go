package limayaml

import (
	"fmt"
	"strings"
	"testing"
)

const validImage = `images:
- location: https://example.com/debian-13-genericcloud-amd64.qcow2
  arch: x86_64
`

// invalidCases each break one rule of Validate (or of Load). want is a piece of the error text that
// names the rule; the whole text is kept in testdata/invalid.golden.
var invalidCases = []struct {
	name, yaml, want string
}{
	{"base left unresolved", "base: template:debian\n", "field `base`: base templates must be merged"},
	{"minimumLimaVersion not semver", "minimumLimaVersion: two\n", `"two" is not a semantic version`},
	{"minimumLimaVersion too new", "minimumLimaVersion: 99.0.0\n", "upgrade limactl"},
	{"qemu minimumVersion not semver", "vmOpts:\n  qemu:\n    minimumVersion: eight\n", "field `vmOpts.qemu.minimumVersion`"},
	{"cpuType unknown arch", "vmOpts:\n  qemu:\n    cpuType:\n      sparc: host\n", "field `vmOpts.qemu.cpuType.sparc`: unknown arch"},
	{"vz diskImageFormat", "vmOpts:\n  vz:\n    diskImageFormat: qcow2\n", "must be raw or asif"},
	{"unknown os", "os: Plan9\n", "field `os`: unknown os \"Plan9\""},
	{"unknown arch", "arch: amd64\n", "field `arch`: unknown arch \"amd64\""},
	{"windows guest on vz", "os: Windows\nvmType: vz\nuser:\n  shell: cmd.exe\n", "Windows guests run only with vmType qemu"},
	{"windows guest arch", "os: Windows\narch: riscv64\nuser:\n  shell: cmd.exe\nimages:\n- location: https://example.com/w.iso\n", "Windows guests need arch x86_64 or aarch64"},
	{"windows guest shell", "os: Windows\nuser:\n  shell: /bin/bash\n", "must be cmd.exe, powershell.exe or pwsh.exe"},
	{"user name invalid", "user:\n  name: Bad User\n", "field `user.name`: \"Bad User\" is not a valid Linux user name"},
	{"user shell relative", "user:\n  shell: bash\n", "field `user.shell`: \"bash\" must be an absolute path"},
	{"user home relative", "user:\n  home: alice\n", "field `user.home`: \"alice\" must be an absolute path"},
	{"darwin guest with passwordless sudo", "os: Darwin\nuser:\n  passwordlessSudo: true\n", "macOS guests do not support passwordless sudo"},
	{"no passwordless sudo without plain", "user:\n  passwordlessSudo: false\n", "false is allowed only with plain: true"},
	{"no images", "images: []\n", "field `images`: at least one image is required"},
	{"image ~user path", "images:\n- location: ~bob/disk.img\n", "field `images[0].location`: cannot expand \"~bob/disk.img\""},
	{"image unknown arch", "images:\n- location: https://example.com/a.img\n  arch: m68k\n", "field `images[0].arch`: unknown arch \"m68k\""},
	{"image digest algorithm", "images:\n- location: https://example.com/a.img\n  digest: md5:0123\n", `unsupported digest algorithm "md5"`},
	{"image digest short", "images:\n- location: https://example.com/a.img\n  digest: sha256:abcd\n", "needs 64 lowercase hex digits"},
	{"image digest no algorithm", "images:\n- location: https://example.com/a.img\n  digest: abcdef\n", "write ALGORITHM:HEX"},
	{"image empty location", "images:\n- location: \"\"\n", "field `images[0].location`: is empty"},
	{"kernel arch differs", "images:\n- location: https://example.com/a.img\n  arch: x86_64\n  kernel:\n    location: https://example.com/vmlinuz\n    arch: aarch64\n", "field `images[0].kernel.arch`: \"aarch64\" differs from the image arch \"x86_64\""},
	{"initrd arch differs", "images:\n- location: https://example.com/a.img\n  arch: x86_64\n  initrd:\n    location: https://example.com/initrd\n    arch: aarch64\n", "field `images[0].initrd.arch`"},
	{"firmware vmType unknown", "firmware:\n  images:\n  - location: /usr/share/OVMF/OVMF_CODE.fd\n    vmType: bhyve\n", "field `firmware.images[0].vmType`: unknown vmType \"bhyve\""},
	{"containerd archive digest", "containerd:\n  system: true\n  archives:\n  - location: https://example.com/nerdctl.tgz\n    digest: sha256:xyz\n", "field `containerd.archives[0].digest`"},
	{"containerd archive relative", "containerd:\n  system: true\n  archives:\n  - location: nerdctl-full.tgz\n", "field `containerd.archives[0].location`: \"nerdctl-full.tgz\" is a relative path"},
	{"containerd without an archive for the arch", "arch: x86_64\ncontainerd:\n  user: true\n  archives:\n  - location: https://example.com/nerdctl-arm64.tgz\n    arch: aarch64\n", "no nerdctl-full archive for arch x86_64"},
	{"cpus negative", "cpus: -1\n", "field `cpus`: must be at least 1, got -1"},
	{"memory unparsable", "memory: lots\n", "field `memory`: cannot parse \"lots\" as a size"},
	{"disk zero", "disk: \"0\"\n", "field `disk`: must be greater than zero"},
	{"additional disk bad name", "additionalDisks:\n- bad name\n", "field `additionalDisks[0].name`: \"bad name\" is not a valid disk name"},
	{"additional disk twice", "additionalDisks:\n- data\n- name: data\n  format: false\n", `disk "data" is listed twice`},
	{"mount location relative", "mounts:\n- location: foo/bar\n", "field `mounts[0].location`: \"foo/bar\" must be an absolute path or start with ~"},
	{"mount location is a file", "mounts:\n- location: /etc/passwd\n", `"/etc/passwd" is not a directory`},
	{"mount location ~user", "mounts:\n- location: ~root/x\n", `cannot expand "~root/x"`},
	{"mountPoint system dir", "mounts:\n- location: /tmp\n  mountPoint: /etc\n", "field `mounts[0].mountPoint`: \"/etc\" would hide a system directory"},
	{"mountPoint is home", "mounts:\n- location: /tmp\n  mountPoint: /home/alice.guest\n", "is the guest user's home directory"},
	{"mountPoint with tilde", "mounts:\n- location: /tmp\n  mountPoint: ~/tmp\n", "~ is not expanded in the guest"},
	{"mountPoint relative", "mounts:\n- location: /tmp\n  mountPoint: data\n", `"data" must be an absolute path in the guest`},
	{"9p msize", "mounts:\n- location: /tmp/lima\n  9p:\n    msize: big\n", "field `mounts[0].9p.msize`: cannot parse \"big\""},
	{"openssh-sftp-server on a writable mount", "mountType: reverse-sshfs\nmounts:\n- location: /tmp/lima\n  writable: true\n  sshfs:\n    sftpDriver: openssh-sftp-server\n", "field `mounts[0].sshfs.sftpDriver`: openssh-sftp-server serves the whole host file system"},
	{"sftpDriver unknown", "mounts:\n- location: /tmp/lima\n  sshfs:\n    sftpDriver: proftpd\n", "field `mounts[0].sshfs.sftpDriver`: unknown SFTP driver \"proftpd\""},
	{"ssh port 22", "ssh:\n  localPort: 22\n", "field `ssh.localPort`: cannot be 22"},
	{"ssh port too big", "ssh:\n  localPort: 70000\n", "field `ssh.localPort`: must be a port from 1 to 65535, got 70000"},
	{"mountType unknown", "mountType: nfs\n", "field `mountType`: unknown mount type \"nfs\""},
	{"mountType unsupported by kernel", "mountType: 9p\nmountTypesUnsupported: [9p]\n", `"9p" is listed in mountTypesUnsupported`},
	{"qemu with wsl2 mounts", "mountType: wsl2\n", `vmType qemu on a linux host supports reverse-sshfs, 9p, virtiofs, not "wsl2"`},
	{"provision file not inlined", "provision:\n- file: https://example.com/setup.sh\n", "field `provision[0].file`: \"https://example.com/setup.sh\" was not inlined"},
	{"provision file digest", "provision:\n- script: \"#!/bin/sh\"\n  file:\n    url: \"\"\n    digest: sha256:00\n", "field `provision[0].file.digest`"},
	{"provision unknown mode", "provision:\n- mode: later\n  script: echo\n", "field `provision[0].mode`: unknown mode \"later\""},
	{"skipDefaultDependencyResolution on system", "provision:\n- mode: system\n  script: echo\n  skipDefaultDependencyResolution: true\n", "only applies to mode dependency"},
	{"data without path", "provision:\n- mode: data\n  content: hi\n", "field `provision[0].path`: mode data needs path"},
	{"data relative path", "provision:\n- mode: data\n  path: etc/motd\n  content: hi\n", `"etc/motd" must be an absolute path`},
	{"data without content", "provision:\n- mode: data\n  path: /etc/motd\n", "field `provision[0].content`: mode data needs content"},
	{"yq without expression", "provision:\n- mode: yq\n  path: /etc/x.yaml\n", "field `provision[0].expression`"},
	{"data permissions not octal", "provision:\n- mode: data\n  path: /etc/motd\n  content: hi\n  permissions: rw-r--r--\n", `"rw-r--r--" is not an octal mode`},
	{"data with script", "provision:\n- mode: data\n  path: /etc/motd\n  content: hi\n  script: echo\n", "mode data takes no script"},
	{"system without script", "provision:\n- mode: system\n", "field `provision[0].script`: mode system needs a script"},
	{"system with content", "provision:\n- mode: user\n  script: echo\n  content: hi\n", "field `provision[0].content`: only applies to modes data and yq"},
	{"playbook on system", "provision:\n- mode: system\n  script: echo\n  playbook: site.yml\n", "field `provision[0].playbook`: only applies to mode ansible"},
	{"playbook missing", "provision:\n- mode: ansible\n  playbook: /nonexistent/site.yml\n", "cannot read the playbook"},
	{"windows boot provision", "os: Windows\nuser:\n  shell: cmd.exe\nprovision:\n- mode: boot\n  script: echo\n", `mode "boot" is not supported for Windows guests`},
	{"probe without shebang", "probes:\n- script: test -f /done\n", "field `probes[0].script`: must start with an interpreter line"},
	{"probe mode", "probes:\n- mode: liveness\n  script: \"#!/bin/sh\\ntrue\"\n", "field `probes[0].mode`: unknown mode \"liveness\""},
	{"probe file not inlined", "probes:\n- file: probe.sh\n  script: \"#!/bin/sh\"\n", "field `probes[0].file`: \"probe.sh\" was not inlined"},
	{"guestIPMustBeZero with loopback", "portForwards:\n- guestIPMustBeZero: true\n  guestIP: 127.0.0.1\n  guestPort: 80\n", "can be true only with guestIP 0.0.0.0"},
	{"guestPort with guestSocket", "portForwards:\n- guestPort: 80\n  guestSocket: /run/x.sock\n  hostSocket: x.sock\n", "give guestPort or guestSocket, not both"},
	{"guestPort differs from range", "portForwards:\n- guestPort: 80\n  guestPortRange: [81, 90]\n  hostPortRange: [81, 90]\n", "80 differs from guestPortRange[0] 81"},
	{"hostPort differs from range", "portForwards:\n- guestPortRange: [81, 90]\n  hostPort: 8080\n  hostPortRange: [8081, 8090]\n", "8080 differs from hostPortRange[0] 8081"},
	{"hostPort with hostSocket", "portForwards:\n- guestSocket: /run/x.sock\n  hostPort: 80\n  hostSocket: x.sock\n", "give hostPort or hostSocket, not both"},
	{"guest port 22", "portForwards:\n- guestPort: 22\n", "field `portForwards[0].guestPortRange[0]`: cannot be 22"},
	{"guest port too big", "portForwards:\n- guestPort: 70000\n", "must be a port from 1 to 65535, got 70000"},
	{"guest range reversed", "portForwards:\n- guestPortRange: [100, 10]\n", "field `portForwards[0].guestPortRange`: the range 100-10 is reversed"},
	{"guestSocket relative", "portForwards:\n- guestSocket: run/x.sock\n  hostSocket: x.sock\n", "field `portForwards[0].guestSocket`: \"run/x.sock\" must be an absolute path"},
	{"guestSocket to port range", "portForwards:\n- guestSocket: /run/x.sock\n  hostPortRange: [8000, 8010]\n", "a socket can be forwarded only to a hostSocket or a single hostPort"},
	{"hostSocket from port range", "portForwards:\n- guestPortRange: [8000, 8010]\n  hostSocket: x.sock\n", "a socket can be forwarded only from a guestSocket or a single guestPort"},
	{"range sizes differ", "portForwards:\n- guestPortRange: [8000, 8010]\n  hostPortRange: [9000, 9001]\n", "must hold the same number of ports"},
	{"hostSocket too long", "portForwards:\n- guestSocket: /run/x.sock\n  hostSocket: /" + strings.Repeat("s", 120) + ".sock\n", "too long for a Unix socket"},
	{"unknown proto", "portForwards:\n- guestPort: 53\n  proto: sctp\n", "field `portForwards[0].proto`: unknown protocol \"sctp\""},
	{"reverse without sockets", "portForwards:\n- guestPort: 8080\n  reverse: true\n", "reverse forwarding needs both guestSocket and hostSocket"},
	{"guestIP not an IP", "portForwards:\n- guestIP: localhost\n  guestPort: 80\n", "field `portForwards[0].guestIP`: \"localhost\" is not an IP address"},
	{"copyToHost guest relative", "copyToHost:\n- guest: etc/kubeconfig\n  host: /tmp/kubeconfig\n", "field `copyToHost[0].guest`"},
	{"copyToHost host relative", "copyToHost:\n- guest: /etc/kubeconfig\n  host: kubeconfig\n", "field `copyToHost[0].host`: \"kubeconfig\" must be an absolute path on the host"},
	{"dns with hostResolver", "dns: [1.1.1.1]\n", "dns is used only when hostResolver is disabled"},
	{"dns not an IP", "dns: [one.one.one.one]\nhostResolver:\n  enabled: false\n", "field `dns[0]`: \"one.one.one.one\" is not an IP address"},
	{"network lima and socket", "networks:\n- lima: user-v2\n  socket: /var/run/vde.sock\n", "lima, socket and vzNAT exclude each other"},
	{"network of no kind", "networks:\n- interface: lima9\n", "field `networks[0]`: set one of lima, socket or vzNAT"},
	{"network unknown lima name", "networks:\n- lima: office\n", `network "office" is not defined`},
	{"network shared on linux", "networks:\n- lima: shared\n", `network "shared" (mode shared) is run by socket_vmnet and needs a macOS host`},
	{"network socket not a socket", "networks:\n- socket: /etc/passwd\n", `"/etc/passwd" exists but is not a socket`},
	{"network bad mac", "networks:\n- lima: user-v2\n  macAddress: 52:55:55\n", "is not a 6-byte MAC address"},
	{"network interface too long", "networks:\n- lima: user-v2\n  interface: averyveryverylongname\n", "is longer than 15 bytes"},
	{"network interface eth0", "networks:\n- lima: user-v2\n  interface: eth0\n", "eth0 is the built-in user-mode network"},
	{"network interface with slash", "networks:\n- lima: user-v2\n  interface: a/b\n", "must not contain whitespace or '/'"},
	{"network vzNAT on qemu", "networks:\n- vzNAT: true\n", "vzNAT works only with vmType vz"},
	{"param bad name", "param:\n  1abc: x\nprovision:\n- script: echo {{.Param.1abc}} $PARAM_1abc\n", "field `param.1abc`: \"1abc\" is not a valid param name"},
	{"param control character", "param:\n  Msg: \"a\\x01b\"\nprovision:\n- script: echo $PARAM_Msg\n", "field `param.Msg`: the value holds the non-printable character"},
	{"tpm on riscv64", "arch: riscv64\ntpm: true\nimages:\n- location: https://example.com/r.img\n", "a TPM is supported only for x86_64 and aarch64 guests"},
	{"audio interface", "audio:\n  interface: ac97\n", "field `audio.interface`: must be hda or virtio"},
	{"unknown vmType", "vmType: hyperv\n", "field `vmType`: unknown vmType \"hyperv\""},
	{"vz on a linux host", "vmType: vz\n", "vmType vz needs macOS 13 or later, and this host runs linux"},
	{"wsl2 on a linux host", "vmType: wsl2\n", "vmType wsl2 needs Windows 10 build 19041 or later"},
}

// loadAndValidate runs what `limactl start` runs on a config: Load, then Validate.
func loadAndValidate(t *testing.T, limaHome, text string) error {
	t.Helper()
	y, err := Load([]byte(text), instFile(limaHome, "test"))
	if err != nil {
		return err
	}
	return Validate(y, false)
}

func TestValidateInvalid(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	if len(invalidCases) < 60 {
		t.Fatalf("only %d invalid cases", len(invalidCases))
	}
	var golden strings.Builder
	seen := map[string]bool{}
	for _, tc := range invalidCases {
		if seen[tc.name] {
			t.Fatalf("duplicate case name %q", tc.name)
		}
		seen[tc.name] = true
		text := tc.yaml
		if !strings.HasPrefix(text, "images:") && !strings.Contains(text, "\nimages:") {
			text = validImage + text
		}
		err := loadAndValidate(t, limaHome, text)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error does not contain %q:\n%v", tc.name, tc.want, err)
		}
		fmt.Fprintf(&golden, "== %s\n%s\n", tc.name, scrub(err.Error(), limaHome))
	}
	checkGolden(t, "invalid.golden", golden.String())
}

// The seed templates of Lima's docs and a config with only defaults must pass.
func TestValidateValid(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	for _, text := range []string{
		validImage,
		validImage + "mounts:\n- location: /tmp/lima\n  writable: true\n- location: \"~\"\n",
		validImage + "networks:\n- lima: user-v2\nportForwards:\n- guestPort: 8080\n  hostPort: 18080\n- guestSocket: /run/docker.sock\n  hostSocket: docker.sock\n",
		validImage + "plain: true\nuser:\n  passwordlessSudo: false\n",
		validImage + "provision:\n- mode: data\n  path: /etc/motd\n  content: hi\n- mode: yq\n  path: /etc/x.yaml\n  expression: .a = 1\n- mode: dependency\n  skipDefaultDependencyResolution: true\n  script: echo\n",
	} {
		if err := loadAndValidate(t, limaHome, text); err != nil {
			t.Errorf("%s\n=> %v", text, err)
		}
	}
}
