package sshutil

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, d)
	}
}

func TestWriteSSHConfig(t *testing.T) {
	tmp := t.TempDir()
	instDir := filepath.Join(tmp, ".lima", "default")
	if err := os.MkdirAll(instDir, 0o700); err != nil {
		t.Fatal(err)
	}
	identity := filepath.Join(tmp, ".lima", "_config", "user")
	if err := WriteSSHConfig(instDir, "default", "alice", 60022, identity, KnownHostsFile(instDir)); err != nil {
		t.Fatal(err)
	}
	path := SSHConfigFile(instDir)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" {
		st, _ := os.Stat(path)
		if st.Mode().Perm() != 0o600 {
			t.Errorf("ssh.config mode = %v, want 0600", st.Mode().Perm())
		}
	}
	golden(t, "ssh.config.golden", bytes.ReplaceAll(data, []byte(tmp), []byte("/home/alice")))

	c, err := ReadSSHConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]any{
		"Host": c.Host, "Port": c.Port(), "User": c.Get("user"), "IdentityFile": c.Get("IdentityFile"),
		"UserKnownHostsFile": c.Get("UserKnownHostsFile"), "HostKeyAlias": c.Get("HostKeyAlias"),
	}
	want := map[string]any{
		"Host": "lima-default", "Port": 60022, "User": "alice", "IdentityFile": identity,
		"UserKnownHostsFile": KnownHostsFile(instDir), "HostKeyAlias": "lima-default",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ReadSSHConfig (-want +got):\n%s", d)
	}
}

func TestQuotePathPercent(t *testing.T) {
	if got := quotePath("/a/100%/b"); got != `"/a/100%%/b"` {
		t.Errorf("quotePath = %s", got)
	}
	c := &SSHConfig{Options: []Option{{"IdentityFile", quotePath("/a/100%/b")}}}
	if got := c.Get("IdentityFile"); got != "/a/100%/b" {
		t.Errorf("Get = %s", got)
	}
}

func TestWriteFormat(t *testing.T) {
	opts := SSHOptions("/home/alice/.lima/default", "default", "alice", 60022,
		"/home/alice/.lima/_config/user", "/home/alice/.lima/default/ssh_known_hosts")
	var all bytes.Buffer
	for _, f := range Formats {
		var b bytes.Buffer
		if err := WriteFormat(&b, "default", opts, f); err != nil {
			t.Fatal(err)
		}
		all.WriteString("== " + f + "\n")
		all.Write(b.Bytes())
	}
	golden(t, "show-ssh.golden", all.Bytes())
	if err := WriteFormat(&all, "default", opts, "json"); err == nil || !strings.Contains(err.Error(), "cmd, args, options, config") {
		t.Errorf("unknown format error = %v", err)
	}
}

func TestControlPath(t *testing.T) {
	short := "/home/alice/.lima/default"
	if got := ControlPath(short); got != short+"/ssh.sock" {
		t.Errorf("ControlPath(%s) = %s", short, got)
	}
	long := "/home/alice/" + strings.Repeat("x", 80) + "/default"
	got := ControlPath(long)
	if !strings.HasPrefix(got, os.TempDir()) || len(got)+17 >= 104 || got != ControlPath(long) || got == ControlPath(long+"2") {
		t.Errorf("ControlPath(long) = %s: want a short, stable, per-instance path", got)
	}
}
