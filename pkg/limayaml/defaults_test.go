package limayaml

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// hostFor lets a FillDefault golden case run on another host than linuxHost.
var hostFor = map[string]func(h *HostInfo){
	"roothost": func(h *HostInfo) { h.User, h.UID, h.Home = "root", 0, "/root" },
}

// TestFillDefaultGolden completes testdata/filldefault/NAME/lima.yaml with the default.yaml and
// override.yaml beside it (when present) and compares the result with NAME/filled.golden.yaml.
func TestFillDefaultGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/filldefault/*")
	if err != nil || len(dirs) == 0 {
		t.Fatal("no golden cases", err)
	}
	for _, dir := range dirs {
		name := filepath.Base(dir)
		t.Run(name, func(t *testing.T) {
			h := linuxHost
			if f := hostFor[name]; f != nil {
				f(&h)
			}
			withHost(t, h)
			var y, d, o LimaYAML
			for file, into := range map[string]*LimaYAML{"lima.yaml": &y, "default.yaml": &d, "override.yaml": &o} {
				b, err := os.ReadFile(filepath.Join(dir, file))
				if errors.Is(err, os.ErrNotExist) {
					continue
				}
				if err != nil {
					t.Fatal(err)
				}
				if w, err := Unmarshal(b, into, file); err != nil || len(w) > 0 {
					t.Fatalf("%s: %v %v", file, w, err)
				}
			}
			FillDefault(&y, &d, &o, "/home/alice/.lima/"+name+"/lima.yaml", true)
			out, err := Marshal(&y)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, filepath.Join("filldefault", name, "filled.golden.yaml"), string(out))
		})
	}
}

func TestFillDefaultHostFacts(t *testing.T) {
	for _, tc := range []struct {
		name     string
		host     func(h *HostInfo)
		cpus     int
		memory   string
		user     string
		uid      uint32
		mount    MountType
		timezone string
	}{
		{"big linux host", func(h *HostInfo) {}, 4, "4GiB", "alice", 1001, NINEP, "Europe/Berlin"},
		{"small host", func(h *HostInfo) { h.CPUs, h.MemoryBytes = 2, 3<<30 }, 2, "1.5GiB", "alice", 1001, NINEP, "Europe/Berlin"},
		{"user name not valid on Linux", func(h *HostInfo) { h.User = "Alice.Smith" }, 4, "4GiB", "lima", 1001, NINEP, "Europe/Berlin"},
		{"root", func(h *HostInfo) { h.User, h.UID = "root", 0 }, 4, "4GiB", "lima", 1000, NINEP, "Europe/Berlin"},
		{"macOS host keeps qemu and 9p", func(h *HostInfo) { h.OS, h.Arch, h.MacOSVersion = "darwin", AARCH64, "14.5" }, 4, "4GiB", "alice", 1001, NINEP, "Europe/Berlin"},
		{"windows host", func(h *HostInfo) { h.OS, h.WindowsBuild, h.TimeZone = "windows", 22631, "" }, 4, "4GiB", "alice", 1001, REVSSHFS, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := linuxHost
			tc.host(&h)
			withHost(t, h)
			var y LimaYAML
			FillDefault(&y, &LimaYAML{}, &LimaYAML{}, "/x/inst/lima.yaml", false)
			got := []any{*y.VMType, *y.Arch, *y.CPUs, *y.Memory, *y.User.Name, *y.User.UID, *y.MountType, *y.TimeZone}
			want := []any{QEMU, h.Arch, tc.cpus, tc.memory, tc.user, tc.uid, tc.mount, tc.timezone}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Error(diff)
			}
		})
	}
}

func TestFillDefaultMountTypeByVMType(t *testing.T) {
	withHost(t, linuxHost)
	for vm, want := range map[VMType]MountType{QEMU: NINEP, VZ: VIRTIOFS, WSL2: WSLMount} {
		y := LimaYAML{VMType: ptr(vm)}
		FillDefault(&y, &LimaYAML{}, &LimaYAML{}, "", false)
		if *y.MountType != want {
			t.Errorf("%s: mountType %s, want %s", vm, *y.MountType, want)
		}
	}
	y := LimaYAML{MountTypesUnsupported: []string{NINEP}}
	FillDefault(&y, &LimaYAML{}, &LimaYAML{}, "", false)
	if *y.MountType != REVSSHFS {
		t.Errorf("qemu without 9p: %s", *y.MountType)
	}
}

func TestInstanceDirAndName(t *testing.T) {
	for path, want := range map[string][2]string{
		"/h/.lima/dev/lima.yaml": {"/h/.lima/dev", "dev"},
		"/tmp/docker.yaml":       {"/tmp", "docker"},
		"k8s.yml":                {".", "k8s"},
		"":                       {"", ""},
	} {
		dir, name := InstanceDirAndName(path)
		if dir != want[0] || name != want[1] {
			t.Errorf("%q: %q %q, want %q", path, dir, name, want)
		}
	}
}

func TestLoadReadsConfigLayers(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	mustWrite(t, filepath.Join(limaHome, "_config", "default.yaml"), "cpus: 3\nmemory: 3GiB\n")
	mustWrite(t, filepath.Join(limaHome, "_config", "override.yaml"), "memory: 5GiB\n")
	y, err := Load([]byte(validImage+"cpus: 2\nmemory: 1GiB\n"), instFile(limaHome, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if *y.CPUs != 2 || *y.Memory != "5GiB" {
		t.Errorf("cpus %d memory %s, want 2 and 5GiB", *y.CPUs, *y.Memory)
	}

	mustWrite(t, filepath.Join(limaHome, "_config", "override.yaml"), "memory: 5GiB\ncpus: [1]\n")
	_, err = Load([]byte(validImage), instFile(limaHome, "dev"))
	wantPrefix := filepath.Join(limaHome, "_config", "override.yaml") + ":2:7: field `cpus`: expected an integer, got a list"
	if err == nil || !strings.HasPrefix(err.Error(), wantPrefix) {
		t.Errorf("error %v, want it to start with %q", err, wantPrefix)
	}
}

func TestLoadFile(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	p := instFile(limaHome, "web")
	mustWrite(t, p, validImage+"portForwards:\n- guestSocket: /run/x.sock\n  hostSocket: x.sock\n")
	y, err := LoadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(limaHome, "web", "sock", "x.sock"); y.PortForwards[0].HostSocket != want {
		t.Errorf("hostSocket %q, want %q", y.PortForwards[0].HostSocket, want)
	}
	if y.HostResolver.Hosts["lima-web"] != GuestIPInSlirp {
		t.Errorf("hosts: %v", y.HostResolver.Hosts)
	}
	if _, err := LoadFile(filepath.Join(limaHome, "missing", "lima.yaml")); err == nil {
		t.Error("no error for a missing file")
	}
}

func TestFillDefaultResolvesDefaultKeyword(t *testing.T) {
	withHost(t, linuxHost)
	y := LimaYAML{VMType: ptr("default"), MountType: ptr("default"), Arch: ptr("default")}
	FillDefault(&y, &LimaYAML{}, &LimaYAML{}, "", false)
	if *y.VMType != QEMU || *y.MountType != NINEP || *y.Arch != X8664 {
		t.Errorf("vmType %s mountType %s arch %s", *y.VMType, *y.MountType, *y.Arch)
	}
}

func TestFillDefaultDeprecatedFieldsMove(t *testing.T) {
	withHost(t, linuxHost)
	y := LimaYAML{
		CPUType: CPUType{X8664: "qemu64", AARCH64: "a72"},
		VMOpts:  VMOpts{QEMU: QEMUOpts{CPUType: CPUType{AARCH64: "max"}}},
		Rosetta: Rosetta{Enabled: ptr(true)},
	}
	FillDefault(&y, &LimaYAML{}, &LimaYAML{}, "", true)
	if diff := cmp.Diff(CPUType{X8664: "qemu64", AARCH64: "max"}, y.VMOpts.QEMU.CPUType); diff != "" {
		t.Error(diff)
	}
	if y.CPUType != nil || y.Rosetta.Enabled != nil || !*y.VMOpts.VZ.Rosetta.Enabled || *y.VMOpts.VZ.Rosetta.BinFmt {
		t.Errorf("deprecated fields not moved: %+v %+v", y.CPUType, y.VMOpts.VZ.Rosetta)
	}
}

func TestFillDefaultTemplates(t *testing.T) {
	h := linuxHost
	withHost(t, h)
	y := LimaYAML{
		Param:        map[string]string{"Port": "8080"},
		Mounts:       []Mount{{Location: "{{.Home}}/src/{{.Name}}", MountPoint: ptr("{{.Home}}/src")}, {Location: "{{.GlobalTempDir}}/{{.UID}}"}, {Location: "{{.TempDir}}/x"}, {Location: "~/notes"}},
		PortForwards: []PortForward{{GuestSocket: "{{.Home}}/{{.Param.Port}}.sock", HostSocket: "{{.Name}}.sock"}},
		CopyToHost:   []CopyToHost{{GuestFile: "/home/{{.User}}/a", HostFile: "{{.Dir}}/a-{{.User}}"}},
		Probes:       []Probe{{Script: ptr("#!/bin/sh\n{{.Hostname}} {{.Name}}")}},
		Provision:    []Provision{{Script: ptr("broken {{.Nope"), Mode: "system"}},
	}
	FillDefault(&y, &LimaYAML{}, &LimaYAML{}, "/lh/my_vm.1/lima.yaml", false)
	got := []string{
		y.Mounts[0].Location, *y.Mounts[0].MountPoint, y.Mounts[1].Location, y.Mounts[2].Location, y.Mounts[3].Location,
		y.PortForwards[0].GuestSocket, y.PortForwards[0].HostSocket,
		y.CopyToHost[0].GuestFile, y.CopyToHost[0].HostFile,
		*y.Probes[0].Script, *y.Provision[0].Script,
	}
	want := []string{
		"/home/alice/src/my_vm.1", "/home/alice.guest/src", "/tmp/1001", "/tmp/alice-tmp/x", "/home/alice/notes",
		"/home/alice.guest/8080.sock", "/lh/my_vm.1/sock/my_vm.1.sock",
		"/home/alice/a", "/lh/my_vm.1/a-alice",
		"#!/bin/sh\nlima-my-vm-1 my_vm.1", "broken {{.Nope",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Error(diff)
	}
}

func TestFillDefaultOldInstances(t *testing.T) {
	limaHome := withHost(t, linuxHost)
	for _, tc := range []struct {
		name, version string // version "" means no lima-version file
		started       bool
		port          int
		mount         MountType
		home          string
	}{
		{"default", "", false, 0, NINEP, ".guest"},             // being created now
		{"default", "0.19.1", true, 60022, REVSSHFS, ".linux"}, // started, lima-version present
		{"default", "", true, 60022, REVSSHFS, ".linux"},       // started, older than lima-version files
		{"default", "1.2.0", true, 60022, NINEP, ".linux"},
		{"default", "2.0.0", true, 0, NINEP, ".guest"},
		{"other", "0.23.0", true, 0, REVSSHFS, ".linux"},
		{"other", "2.1.0-dev", true, 0, NINEP, ".guest"},
		{"default", "2.0.0-3-gabc1234.m", true, 0, NINEP, ".guest"}, // git describe: after 2.0.0
		{"default", "v1.9.0-3-gabc1234", true, 60022, NINEP, ".linux"},
		{"other", "0.0.0-315-g794b45c", true, 0, NINEP, ".guest"}, // built without a release tag
		{"other", "0.0.0-20261206045000-2508143abcde+dirty", true, 0, NINEP, ".guest"},
	} {
		dir := filepath.Join(limaHome, tc.name)
		if err := os.RemoveAll(dir); err != nil {
			t.Fatal(err)
		}
		if tc.started {
			mustWrite(t, filepath.Join(dir, "cidata.iso"), "")
		}
		if tc.version != "" {
			mustWrite(t, filepath.Join(dir, "lima-version"), tc.version+"\n")
		}
		var y LimaYAML
		FillDefault(&y, &LimaYAML{}, &LimaYAML{}, filepath.Join(dir, "lima.yaml"), false)
		if *y.SSH.LocalPort != tc.port || *y.MountType != tc.mount {
			t.Errorf("%s %q started=%v: port %d mount %s, want %d %s", tc.name, tc.version, tc.started, *y.SSH.LocalPort, *y.MountType, tc.port, tc.mount)
		}
		if want := "/home/" + *y.User.Name + tc.home; *y.User.Home != want {
			t.Errorf("%s %q started=%v: home %s, want %s", tc.name, tc.version, tc.started, *y.User.Home, want)
		}
	}
}

func TestGuestPathOfWindowsLocations(t *testing.T) {
	withHost(t, windowsHost(22000))
	for _, tc := range []struct {
		loc  string
		vm   VMType
		want string
	}{
		{`C:\Users\alice`, QEMU, "/c/Users/alice"},
		{`D:\`, QEMU, "/d"},
		{`C:\Users\alice\src`, WSL2, "/mnt/c/Users/alice/src"},
		{"/already/posix", QEMU, "/already/posix"},
	} {
		if got := guestPathOf(tc.loc, tc.vm); got != tc.want {
			t.Errorf("%s (%s): %q, want %q", tc.loc, tc.vm, got, tc.want)
		}
	}
}

func TestFillDefaultLeavesLayersAlone(t *testing.T) {
	withHost(t, linuxHost)
	d := LimaYAML{CPUType: CPUType{X8664: "qemu64"}, Env: map[string]string{"http_proxy": "x"}, Mounts: []Mount{{Location: "~"}}}
	o := LimaYAML{Rosetta: Rosetta{Enabled: ptr(true)}, Param: map[string]string{"A": "b"}}
	dBefore, oBefore := d, o
	dBefore.CPUType = CPUType{X8664: "qemu64"}
	var y LimaYAML
	FillDefault(&y, &d, &o, "", false)
	if diff := cmp.Diff(dBefore, d); diff != "" {
		t.Errorf("default.yaml changed: %s", diff)
	}
	if diff := cmp.Diff(oBefore, o); diff != "" {
		t.Errorf("override.yaml changed: %s", diff)
	}
	var z LimaYAML
	FillDefault(&z, nil, nil, "", false) // nil layers are empty layers
	if *z.CPUs != 4 {
		t.Errorf("cpus %d", *z.CPUs)
	}
}

func TestFillPortForwardDefaults(t *testing.T) {
	withHost(t, linuxHost)
	r := PortForward{GuestSocket: "/run/user/{{.UID}}/a.sock", HostSocket: "{{.Name}}.sock"}
	FillPortForwardDefaults(&r, "/lh/box", User{Name: ptr("bob"), UID: ptr(uint32(501)), Home: ptr("/home/bob")}, nil)
	want := PortForward{GuestIP: "127.0.0.1", GuestPortRange: PortRange{1, 65535}, GuestSocket: "/run/user/501/a.sock",
		HostIP: "127.0.0.1", HostPortRange: PortRange{1, 65535}, HostSocket: "/lh/box/sock/box.sock", Proto: ProtoAny}
	if diff := cmp.Diff(want, r); diff != "" {
		t.Error(diff)
	}
}
