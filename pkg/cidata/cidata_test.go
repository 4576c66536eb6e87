package cidata

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/limayaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func ptr[T any](v T) *T { return &v }

// testHostKey is a fixed key so the golden files do not change; it is never used to talk to anything.
var testHostKey = HostKey{
	Private: []byte("-----BEGIN OPENSSH PRIVATE KEY-----\nVEVTVCBLRVkgT05MWQ==\n-----END OPENSSH PRIVATE KEY-----\n"),
	Public:  []byte("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGRW8ZrjPJSzqyWt4PzMcfjJyiG42mQDK7jxLl8SR5dA limactl host key"),
}

// baseConfig is what FillDefault produces for a qemu instance with no mounts (every field the seed
// reads is set).
func baseConfig() *limayaml.LimaYAML {
	return &limayaml.LimaYAML{
		VMType:             ptr(limayaml.QEMU),
		OS:                 ptr(limayaml.LINUX),
		Arch:               ptr(limayaml.X8664),
		MountType:          ptr(limayaml.NINEP),
		Plain:              ptr(false),
		TimeZone:           ptr("Europe/Berlin"),
		UpgradePackages:    ptr(false),
		GuestInstallPrefix: ptr("/usr/local"),
		PropagateProxyEnv:  ptr(true),
		HostResolver:       limayaml.HostResolver{Enabled: ptr(true), IPv6: ptr(false)},
		Containerd:         limayaml.Containerd{System: ptr(false), User: ptr(true)},
		User: limayaml.User{
			Name:             ptr("tester"),
			Comment:          ptr("Test User"),
			Home:             ptr("/home/tester.linux"),
			Shell:            ptr("/bin/bash"),
			UID:              ptr(uint32(1000)),
			PasswordlessSudo: ptr(true),
		},
		CACertificates: limayaml.CACertificates{RemoveDefaults: ptr(false)},
	}
}

func baseArgs(t *testing.T) Args {
	return Args{
		Name:            "test_vm.1",
		Config:          baseConfig(),
		SSHPubKeys:      []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJ9q8Oq0nHKbsZy4JcZ8I4nR0b2Y3p5WhH4XQ3y7F1a lima"},
		HostKey:         testHostKey,
		MACAddress:      "52:55:55:12:34:56",
		VirtioPort:      VirtioPortName,
		UDPDNSLocalPort: 40053,
		TCPDNSLocalPort: 40054,
	}
}

type goldenCase struct {
	name string
	edit func(t *testing.T, a *Args)
}

func goldenCases() []goldenCase {
	return []goldenCase{
		{"default", func(t *testing.T, a *Args) {
			a.Config.Mounts = []limayaml.Mount{{Location: "/home/tester", MountPoint: ptr("/home/tester"), Writable: ptr(false)}}
			a.Config.MountType = ptr(limayaml.REVSSHFS)
			a.GuestAgentBinary = writeTemp(t, "lima-guestagent", "\x7fELF fake agent")
		}},
		{"9p-mounts", func(t *testing.T, a *Args) {
			a.Config.Mounts = []limayaml.Mount{
				{Location: "/home/tester", MountPoint: ptr("/home/tester"), Writable: ptr(false),
					NineP: limayaml.NineP{SecurityModel: ptr("none"), ProtocolVersion: ptr("9p2000.L"), Msize: ptr("128KiB"), Cache: ptr("fscache")}},
				{Location: "/tmp/lima", MountPoint: ptr("/tmp/lima"), Writable: ptr(true),
					NineP: limayaml.NineP{SecurityModel: ptr("none"), ProtocolVersion: ptr("9p2000.L"), Msize: ptr("512KiB"), Cache: ptr("mmap")}},
			}
			a.Config.AdditionalDisks = []limayaml.Disk{{Name: "data"},
				{Name: "old", Format: ptr(false), FSType: ptr("xfs"), FSArgs: []string{"-L", "old"}}}
		}},
		{"virtiofs-vz", func(t *testing.T, a *Args) {
			a.Config.VMType = ptr(limayaml.VZ)
			a.Config.MountType = ptr(limayaml.VIRTIOFS)
			a.Config.Mounts = []limayaml.Mount{{Location: "/Users/tester", MountPoint: ptr("/Users/tester"), Writable: ptr(true)}}
			a.VirtioPort = ""
			a.VsockPort = 2222
			a.BootScripts = map[string][]byte{"boot.Linux/05-rosetta-volume.sh": []byte("#!/bin/sh\necho rosetta\n")}
		}},
		{"provisions", func(t *testing.T, a *Args) {
			a.Config.Param = map[string]string{"Greeting": "hello world", "Quote": "it's"}
			a.Config.Provision = []limayaml.Provision{
				{Mode: limayaml.ProvisionModeSystem, Script: ptr("#!/bin/bash\nset -eux\necho system \"$PARAM_Greeting\"\n")},
				{Mode: limayaml.ProvisionModeUser, Script: ptr("#!/bin/sh\necho user > ~/user.txt\n")},
				{Mode: limayaml.ProvisionModeBoot, Script: ptr("#!/bin/sh\necho boot >/run/boot-provisioned\n")},
				{Mode: limayaml.ProvisionModeDependency, SkipDefaultDependencyResolution: ptr(true), Script: ptr("#!/bin/sh\napt-get install -y jq\n")},
				{Mode: limayaml.ProvisionModeData, ProvisionData: limayaml.ProvisionData{
					Path: ptr("/etc/motd"), Content: ptr("Welcome\n"), Owner: ptr("root:root"), Permissions: ptr("644"), Overwrite: ptr(false)}},
				{Mode: limayaml.ProvisionModeYQ, Expression: ptr(".foo = \"bar\""), Format: ptr("auto"),
					ProvisionData: limayaml.ProvisionData{Path: ptr("/etc/foo.yaml"), Owner: ptr("tester"), Permissions: ptr("600")}},
				{Mode: limayaml.ProvisionModeAnsible, Playbook: "site.yml"},
				{Mode: limayaml.ProvisionModeBoot, Script: ptr("echo second boot LIMA_BOOT_PROVISION_EOF\nLIMA_BOOT_PROVISION_EOF\n")},
			}
		}},
		{"plain", func(t *testing.T, a *Args) {
			a.Config.Plain = ptr(true)
			a.Config.Containerd = limayaml.Containerd{System: ptr(false), User: ptr(false)}
			a.Config.TimeZone = ptr("")
			a.Config.Provision = []limayaml.Provision{{Mode: limayaml.ProvisionModeUser, Script: ptr("#!/bin/sh\ntrue\n")}}
			a.GuestAgentBinary = writeTemp(t, "lima-guestagent", "agent")
		}},
		{"cacerts", func(t *testing.T, a *Args) {
			a.Config.CACertificates = limayaml.CACertificates{
				RemoveDefaults: ptr(true),
				Files:          []string{filepath.Join("testdata", "ca.pem")},
				Certs:          []string{"-----BEGIN CERTIFICATE-----\nSU5MSU5F\n-----END CERTIFICATE-----"},
			}
			a.Config.UpgradePackages = ptr(true)
		}},
		{"dns-without-hostresolver", func(t *testing.T, a *Args) {
			a.Config.HostResolver = limayaml.HostResolver{Enabled: ptr(false), Hosts: map[string]string{"db.internal": "10.0.0.5"}}
			a.Config.DNS = []string{"1.1.1.1", "9.9.9.9"}
			a.Config.Networks = []limayaml.Network{{Lima: "user-v2", MACAddress: "52:55:55:ab:cd:ef", Interface: "lima0", Metric: ptr(uint32(100))}}
			a.UDPDNSLocalPort, a.TCPDNSLocalPort = 0, 0
		}},
		{"env-proxy", func(t *testing.T, a *Args) {
			a.Config.Env = map[string]string{"FOO": "bar baz", "https_proxy": "http://proxy.corp:3128", "HTTPS_PROXY": "http://proxy.corp:3128"}
			a.Config.HostResolver.Hosts = map[string]string{"host.docker.internal": "host.lima.internal", "lima-dev": "192.168.5.15"}
			env := map[string]string{"http_proxy": "http://localhost:8080", "NO_PROXY": "localhost,127.0.0.1", "HTTPS_PROXY": "http://127.0.0.1:8443/"}
			a.ProxyEnv = proxyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, DefaultSlirpGateway)
		}},
	}
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

var goldenFiles = []string{"user-data", "meta-data", "network-config", "lima.env", "param.env", "etc_environment", "etc_hosts"}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			a := baseArgs(t)
			tc.edit(t, &a)
			seed, err := Generate(a)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join("testdata", tc.name)
			got := map[string]string{}
			for _, name := range goldenFiles {
				got[name] = string(seed.File(name))
			}
			var listing strings.Builder
			for _, f := range seed.Files {
				fmt.Fprintf(&listing, "%04o %s\n", f.Mode.Perm(), f.Path)
			}
			got["files.txt"] = listing.String()
			for name, content := range got {
				p := filepath.Join(dir, name)
				if *update {
					if err := os.MkdirAll(dir, 0o755); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
						t.Fatal(err)
					}
					continue
				}
				want, err := os.ReadFile(p)
				if err != nil {
					t.Fatalf("%v (run go test -update to create it)", err)
				}
				if d := cmp.Diff(string(want), content); d != "" {
					t.Errorf("%s (-want +got):\n%s", p, d)
				}
			}
		})
	}
}

func TestInstanceIDStable(t *testing.T) {
	gen := func(edit func(a *Args)) string {
		t.Helper()
		a := baseArgs(t)
		a.Config.Mounts = []limayaml.Mount{{Location: "/src", MountPoint: ptr("/src"), Writable: ptr(false)}}
		a.GuestAgentBinary = writeTemp(t, "ga", "agent v1")
		edit(&a)
		seed, err := Generate(a)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(seed.File("meta-data")), "instance-id: "+seed.InstanceID+"\n") {
			t.Fatalf("meta-data does not carry the instance id %s:\n%s", seed.InstanceID, seed.File("meta-data"))
		}
		return seed.InstanceID
	}
	base := gen(func(*Args) {})
	if !strings.HasPrefix(base, "iid-") || len(base) != len("iid-")+16 {
		t.Errorf("instance id %q: want iid- and 16 hex digits", base)
	}
	same := map[string]func(a *Args){
		"again":                func(*Args) {},
		"other DNS ports":      func(a *Args) { a.UDPDNSLocalPort, a.TCPDNSLocalPort = 1111, 2222 },
		"other guest agent":    func(a *Args) { a.GuestAgentBinary = writeTemp(t, "ga", "agent v2") },
		"mounts given equally": func(a *Args) { m, _ := MountsFromConfig(a.Config); a.Mounts = m },
	}
	for name, edit := range same {
		if got := gen(edit); got != base {
			t.Errorf("%s: instance id changed from %s to %s", name, base, got)
		}
	}
	differ := map[string]func(a *Args){
		"other name":      func(a *Args) { a.Name = "other" },
		"other key":       func(a *Args) { a.SSHPubKeys = append(a.SSHPubKeys, "ssh-ed25519 AAAA other") },
		"other MAC":       func(a *Args) { a.MACAddress = "52:55:55:00:00:01" },
		"writable mount":  func(a *Args) { a.Config.Mounts[0].Writable = ptr(true) },
		"a param":         func(a *Args) { a.Config.Param = map[string]string{"K": "v"} },
		"a provision":     func(a *Args) { a.Config.Provision = []limayaml.Provision{{Mode: "system", Script: ptr("true")}} },
		"env":             func(a *Args) { a.Config.Env = map[string]string{"A": "b"} },
		"timezone":        func(a *Args) { a.Config.TimeZone = ptr("UTC") },
		"hostResolver":    func(a *Args) { a.Config.HostResolver.Enabled = ptr(false) },
		"driver script":   func(a *Args) { a.BootScripts = map[string][]byte{"boot.Linux/99-x.sh": []byte("true")} },
		"upgradePackages": func(a *Args) { a.Config.UpgradePackages = ptr(true) },
	}
	seen := map[string]string{}
	for name, edit := range differ {
		got := gen(edit)
		if got == base {
			t.Errorf("%s: instance id stayed %s", name, base)
		}
		if other, ok := seen[got]; ok {
			t.Errorf("%s and %s give the same instance id %s", name, other, got)
		}
		seen[got] = name
	}
}

func TestGenerateRejects(t *testing.T) {
	for name, edit := range map[string]func(a *Args){
		"no config":   func(a *Args) { a.Config = nil },
		"no name":     func(a *Args) { a.Name = "" },
		"no host key": func(a *Args) { a.HostKey = HostKey{} },
		"no user":     func(a *Args) { a.Config.User.Name = nil },
		"no MAC":      func(a *Args) { a.MACAddress = "" },
		"bad msize": func(a *Args) {
			a.Config.Mounts = []limayaml.Mount{{Location: "/x", NineP: limayaml.NineP{Msize: ptr("lots")}}}
		},
		"missing CA file":     func(a *Args) { a.Config.CACertificates.Files = []string{"/nonexistent/ca.pem"} },
		"missing agent":       func(a *Args) { a.GuestAgentBinary = "/nonexistent/lima-guestagent" },
		"bad driver script":   func(a *Args) { a.BootScripts = map[string][]byte{"../x.sh": nil} },
		"network without MAC": func(a *Args) { a.Config.Networks = []limayaml.Network{{Lima: "user-v2", Interface: "lima0"}} },
	} {
		t.Run(name, func(t *testing.T) {
			a := baseArgs(t)
			edit(&a)
			if _, err := Generate(a); err == nil {
				t.Error("Generate succeeded, want an error")
			}
		})
	}
}

func TestHostname(t *testing.T) {
	for in, want := range map[string]string{"default": "lima-default", "my.vm_1": "lima-my-vm-1", "a-b": "lima-a-b"} {
		if got := Hostname(in); got != want {
			t.Errorf("Hostname(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMountTag(t *testing.T) {
	// sha256("/home/tester:/home/tester") starts with these 8 hex digits.
	got := MountTag("/home/tester", "/home/tester")
	if !strings.HasPrefix(got, "lima-") || len(got) != len("lima-")+8 {
		t.Errorf("MountTag = %q, want lima- and 8 hex digits", got)
	}
	if MountTag("/a", "/b") == MountTag("/a", "/c") {
		t.Error("different mount points share a tag")
	}
}

func TestProxyEnv(t *testing.T) {
	env := map[string]string{
		"http_proxy":  "localhost:3128",
		"HTTP_PROXY":  "http://ignored:1",
		"HTTPS_PROXY": "https://user:pw@127.0.0.1:8443/path",
		"FTP_PROXY":   "",
		"no_proxy":    "localhost,.corp",
	}
	got := proxyEnv(func(k string) (string, bool) { v, ok := env[k]; return v, ok }, "192.168.5.2")
	want := map[string]string{
		"http_proxy": "192.168.5.2:3128", "HTTP_PROXY": "192.168.5.2:3128",
		"https_proxy": "https://user:pw@192.168.5.2:8443/path", "HTTPS_PROXY": "https://user:pw@192.168.5.2:8443/path",
		"no_proxy": "localhost,.corp", "NO_PROXY": "localhost,.corp",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("proxyEnv (-want +got):\n%s", d)
	}
}

// TestNetplanOptional: param internal_netplanOptional "true" (Lima's Ubuntu 26.04 template) marks
// every interface optional; without it no interface says optional, so other distributions keep
// waiting for their network.
func TestNetplanOptional(t *testing.T) {
	for _, tc := range []struct {
		param map[string]string
		want  int
	}{{nil, 0}, {map[string]string{"internal_netplanOptional": "false"}, 0}, {map[string]string{"internal_netplanOptional": "true"}, 2}} {
		a := baseArgs(t)
		a.Config.Param = tc.param
		a.Config.Networks = []limayaml.Network{{MACAddress: "52:55:55:ab:cd:ef", Interface: "lima0"}}
		b, err := networkConfigYAML(&a)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Count(string(b), "optional: true"); got != tc.want {
			t.Errorf("param %v: %d interfaces optional, want %d:\n%s", tc.param, got, tc.want, b)
		}
		if !strings.Contains(string(b), "set-name: lima0") {
			t.Errorf("set-name lost:\n%s", b)
		}
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"": "''", "plain/path-1.0": "plain/path-1.0", "a b": "'a b'", "it's": `'it'\''s'`, "$HOME": "'$HOME'"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestArchiveDisplayName: the name the guest shows for the nerdctl archive leaves a URL's query and
// fragment (a signed URL's credentials) out of lima.env and the console.
func TestArchiveDisplayName(t *testing.T) {
	for loc, want := range map[string]string{
		"https://github.com/containerd/nerdctl/releases/download/v2.3.5/nerdctl-full-2.3.5-linux-amd64.tar.gz": "nerdctl-full-2.3.5-linux-amd64.tar.gz",
		"https://bucket.example.com/nerdctl.tgz?X-Amz-Signature=secret&X-Amz-Credential=key#frag":              "nerdctl.tgz",
		"https://mirror.example.com/":            "mirror.example.com",
		"/home/me/Downloads/nerdctl-full.tgz":    "nerdctl-full.tgz",
		"~/nerdctl-full.tgz":                     "nerdctl-full.tgz",
		"file:///srv/nerdctl-full.tgz":           "nerdctl-full.tgz",
		`C:\Users\me\Downloads\nerdctl-full.tgz`: "nerdctl-full.tgz",
	} {
		if got := archiveDisplayName(loc); got != want {
			t.Errorf("archiveDisplayName(%q) = %q, want %q", loc, got, want)
		}
	}
}
