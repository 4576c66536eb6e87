package networks

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func defaultForTest(t *testing.T) Config {
	t.Helper()
	b, err := renderTemplate(DefaultSocketVMNet)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(b, "networks.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestDefaultConfig(t *testing.T) {
	c := defaultForTest(t)
	if c.Paths.SocketVMNet != DefaultSocketVMNet || c.Paths.VarRun != "/private/var/run/lima" || c.Paths.Sudoers != "/private/etc/sudoers.d/lima" {
		t.Errorf("paths = %+v", c.Paths)
	}
	if c.Group != "everyone" {
		t.Errorf("group = %q, want everyone", c.Group)
	}
	want := map[string]Network{
		"user-v2": {Mode: ModeUserV2, Gateway: net.ParseIP("192.168.104.1"), NetMask: net.ParseIP("255.255.255.0")},
		"shared":  {Mode: ModeShared, Gateway: net.ParseIP("192.168.105.1"), DHCPEnd: net.ParseIP("192.168.105.254"), NetMask: net.ParseIP("255.255.255.0")},
		"bridged": {Mode: ModeBridged, Interface: "en0"},
		"host":    {Mode: ModeHost, Gateway: net.ParseIP("192.168.106.1"), DHCPEnd: net.ParseIP("192.168.106.254"), NetMask: net.ParseIP("255.255.255.0")},
	}
	if len(c.Networks) != len(want) {
		t.Fatalf("networks = %v, want %d entries", c.Networks, len(want))
	}
	for name, w := range want {
		got := c.Networks[name]
		if got.Mode != w.Mode || got.Interface != w.Interface || !got.Gateway.Equal(w.Gateway) || !got.DHCPEnd.Equal(w.DHCPEnd) || !got.NetMask.Equal(w.NetMask) {
			t.Errorf("networks[%s] = %+v, want %+v", name, got, w)
		}
	}
}

func TestParseAddsUserV2(t *testing.T) {
	c, err := Parse([]byte("paths:\n  socketVMNet: /x\n  varRun: /y\nnetworks:\n  foo:\n    mode: shared\n    gateway: 10.0.0.1\n"), "n.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if nw, ok := c.Networks[ModeUserV2]; !ok || !nw.Gateway.Equal(net.ParseIP("192.168.104.1")) {
		t.Errorf("user-v2 = %+v, %v; want the default user-v2 network", nw, ok)
	}
	if c.Group != DefaultGroup {
		t.Errorf("group = %q, want %q", c.Group, DefaultGroup)
	}
	// A dhcpEnd and netmask left out default in the command line.
	got := c.StartCmd("foo", SocketVMNet)
	if !strings.Contains(got, "--vmnet-dhcp-end=10.0.0.254 --vmnet-mask=255.255.255.0") {
		t.Errorf("StartCmd = %q", got)
	}
	if _, err := Parse([]byte("networks: [\n"), "bad.yaml"); err == nil || !strings.Contains(err.Error(), "cannot parse `bad.yaml`") {
		t.Errorf("Parse(bad) = %v", err)
	}
}

func TestLoadConfigWritesDefault(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	c, err := LoadConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(home, "_config", "networks.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want, err := DefaultConfigBytes()
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != string(want) {
		t.Errorf("networks.yaml differs from the default:\n%s", b)
	}
	if err := c.Check("shared"); err != nil {
		t.Error(err)
	}
	if err := c.Check("nope"); err == nil || err.Error() != "network `nope` is not defined" {
		t.Errorf("Check(nope) = %v", err)
	}
	// An existing file is kept as it is.
	if err := os.WriteFile(path, []byte("networks:\n  a:\n    mode: host\n    gateway: 10.1.0.1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	modes, err := NameModes()
	if err != nil {
		t.Fatal(err)
	}
	if len(modes) != 2 || modes["a"] != ModeHost || modes["user-v2"] != ModeUserV2 {
		t.Errorf("NameModes = %v", modes)
	}
}

func TestSudoersGolden(t *testing.T) {
	c := defaultForTest(t)
	want, err := os.ReadFile(filepath.Join("testdata", "sudoers.golden"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.renderSudoers(true, "root:wheel"); got != string(want) {
		t.Errorf("sudoers:\n%s\nwant:\n%s", got, want)
	}
	// Without socket_vmnet: the mkdir rule and the comments only.
	got := c.renderSudoers(false, "")
	wantBare := "%everyone ALL=(root:wheel) NOPASSWD:NOSETENV: /bin/mkdir -m 775 -p /private/var/run/lima\n\n" +
		"# Manage \"bridged\" network daemons\n\n# Manage \"host\" network daemons\n\n# Manage \"shared\" network daemons\n"
	if got != wantBare {
		t.Errorf("sudoers without socket_vmnet:\n%q\nwant:\n%q", got, wantBare)
	}
}

func TestVerifySudoAccess(t *testing.T) {
	old := passwordlessSudo
	t.Cleanup(func() { passwordlessSudo = old })
	passwordlessSudo = func(*Config) error { return errors.New("a password is required") }

	c := defaultForTest(t)
	c.Paths.SocketVMNet = filepath.Join(t.TempDir(), "missing") // not installed: no daemon rules
	dir := t.TempDir()
	file := filepath.Join(dir, "lima")
	err := c.VerifySudoAccess(file, "limactl")
	if err == nil || !strings.HasPrefix(err.Error(), "can't read "+`"`+file+`"`) || !strings.Contains(err.Error(), "Hint: run `limactl sudoers >etc_sudoers.d_lima") {
		t.Errorf("missing file: %v", err)
	}
	text, err := c.Sudoers()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifySudoAccess(file, "limactl"); err != nil {
		t.Errorf("up-to-date file: %v", err)
	}
	if err := os.WriteFile(file, []byte(text+"# edited\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := c.VerifySudoAccess(file, "limactl"); err == nil || !strings.HasPrefix(err.Error(), "sudoers file \""+file+"\" is out of sync and must be regenerated") {
		t.Errorf("edited file: %v", err)
	}
	passwordlessSudo = func(*Config) error { return nil }
	if err := c.VerifySudoAccess(filepath.Join(dir, "absent"), "limactl"); err != nil {
		t.Errorf("missing file, passwordless sudo: %v", err)
	}
}

// fakeFS is a Checker.Lstat over a map; parents not listed are root-owned 0755 directories.
func fakeChecker(files map[string]FileStat) *Checker {
	return &Checker{
		Lstat: func(p string) (FileStat, error) {
			if st, ok := files[p]; ok {
				return st, nil
			}
			for q := range files {
				if strings.HasPrefix(q, p+"/") || p == "/" {
					return FileStat{Mode: fs.ModeDir | 0o755}, nil
				}
			}
			return FileStat{}, &fs.PathError{Op: "lstat", Path: p, Err: fs.ErrNotExist}
		},
		RootUID: 0, RootGID: 0, DaemonGID: 1,
		RootGroup: "wheel", DaemonGroup: "daemon",
	}
}

func TestValidateWith(t *testing.T) {
	base := map[string]FileStat{
		"/opt/socket_vmnet/bin/socket_vmnet": {Mode: 0o755},
		"/private/var/run":                   {Mode: fs.ModeDir | 0o755},
	}
	with := func(path string, st FileStat) map[string]FileStat {
		m := map[string]FileStat{}
		for k, v := range base {
			m[k] = v
		}
		if path != "" {
			m[path] = st
		}
		return m
	}
	cases := []struct {
		name  string
		files map[string]FileStat
		edit  func(*Config)
		want  string
	}{
		{"ok", with("", FileStat{}), nil, ""},
		{"varRun daemon-writable", with("/private/var/run/lima", FileStat{Mode: fs.ModeDir | 0o775, GID: 1}), nil, ""},
		{"socket_vmnet missing", with("", FileStat{}), func(c *Config) { c.Paths.SocketVMNet = "/nope/socket_vmnet" },
			"networks.yaml: \"/nope/socket_vmnet\" (`paths.socketVMNet`) has to be installed"},
		{"relative", with("", FileStat{}), func(c *Config) { c.Paths.SocketVMNet = "socket_vmnet" },
			"networks.yaml field `paths.socketVMNet` error: path \"socket_vmnet\" is not an absolute path"},
		{"whitespace", with("", FileStat{}), func(c *Config) { c.Paths.VarRun = "/private/var/run/my lima" },
			"networks.yaml field `paths.varRun` error: path \"/private/var/run/my lima\" contains whitespace"},
		{"symlink", with("/opt/socket_vmnet/bin/socket_vmnet", FileStat{Mode: fs.ModeSymlink | 0o755}), nil,
			"networks.yaml field `paths.socketVMNet` error: file \"/opt/socket_vmnet/bin/socket_vmnet\" is a symlink"},
		{"user-owned", with("/opt/socket_vmnet/bin/socket_vmnet", FileStat{Mode: 0o755, UID: 501}), nil,
			"networks.yaml field `paths.socketVMNet` error: file \"/opt/socket_vmnet/bin/socket_vmnet\" is not owned by \"root\" (uid: 0), but by uid 501"},
		{"group-writable parent", with("/opt/socket_vmnet", FileStat{Mode: fs.ModeDir | 0o775, GID: 20}), nil,
			"networks.yaml field `paths.socketVMNet` error: dir \"/opt/socket_vmnet\" is group-writable and group is not \"wheel\" (gid: 0), but is gid: 20"},
		{"world-writable", with("/opt/socket_vmnet/bin/socket_vmnet", FileStat{Mode: 0o757}), nil,
			"networks.yaml field `paths.socketVMNet` error: file \"/opt/socket_vmnet/bin/socket_vmnet\" is world-writable"},
		{"varRun other group", with("/private/var/run/lima", FileStat{Mode: fs.ModeDir | 0o775, GID: 20}), nil,
			"networks.yaml field `paths.varRun` error: dir \"/private/var/run/lima\" is group-writable and group is neither \"wheel\" (gid: 0) nor \"daemon\" (gid: 1), but is gid: 20"},
		{"varRun not searchable", with("/private/var/run/lima", FileStat{Mode: fs.ModeDir | 0o770}), nil,
			"networks.yaml field `paths.varRun` error: dir \"/private/var/run/lima\" is not executable by the \"daemon\" (gid: 1) group"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := defaultForTest(t)
			if tc.edit != nil {
				tc.edit(&c)
			}
			err := c.ValidateWith(fakeChecker(tc.files))
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tc.want {
				t.Errorf("ValidateWith = %q\nwant %q", got, tc.want)
			}
		})
	}
}
