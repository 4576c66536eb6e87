package cidata

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/iso9660"
	"github.com/limactl/limactl/pkg/limayaml"
)

func TestGenerateISO(t *testing.T) {
	dir := t.TempDir()
	a := baseArgs(t)
	a.Config.Mounts = []limayaml.Mount{{Location: "/src", MountPoint: ptr("/src"), Writable: ptr(false)}}
	a.Config.Provision = []limayaml.Provision{{Mode: "system", Script: ptr("#!/bin/sh\ntrue\n")}}
	a.GuestAgentBinary = writeTemp(t, "ga", strings.Repeat("\x7fELF", 5000))
	seed, err := GenerateISO(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	isoPath := filepath.Join(dir, "cidata.iso")
	f, err := os.Open(isoPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	label, files, err := iso9660.Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if label != "cidata" {
		t.Errorf("label %q, want cidata", label)
	}
	content := func(f iso9660.File) []byte {
		if f.Source == "" {
			return f.Data
		}
		b, err := os.ReadFile(f.Source)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	index := func(fs []iso9660.File) map[string]string {
		m := map[string]string{}
		for _, f := range fs {
			m[f.Path] = f.Mode.Perm().String() + " " + string(content(f))
		}
		return m
	}
	byPath := map[string][]byte{}
	for _, f := range seed.Files {
		byPath[f.Path] = content(f)
	}
	if d := cmp.Diff(index(seed.Files), index(files)); d != "" {
		t.Errorf("cidata.iso content (-seed +iso):\n%s", d)
	}

	ref, err := os.ReadFile(filepath.Join(dir, "cloud-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat(filepath.Join(dir, "cloud-config.yaml"))
	if st.Mode().Perm() != 0o444 {
		t.Errorf("cloud-config.yaml mode %o, want 0444", st.Mode().Perm())
	}
	if bytes.Contains(ref, testHostKey.Private[:20]) || !bytes.Contains(ref, []byte("ed25519_private: not shown here, see ssh_host_ed25519_key")) {
		t.Errorf("cloud-config.yaml shows the private host key or lacks the note:\n%s", ref)
	}
	if !bytes.Contains(seed.File("user-data"), []byte("BEGIN OPENSSH PRIVATE KEY")) {
		t.Error("user-data lacks the private host key")
	}

	// Regenerating (a restart) replaces the files in place, with the same instance id.
	seed2, err := GenerateISO(dir, a)
	if err != nil {
		t.Fatal(err)
	}
	if seed2.InstanceID != seed.InstanceID {
		t.Errorf("instance id changed on regeneration: %s -> %s", seed.InstanceID, seed2.InstanceID)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}

	if _, err := exec.LookPath("isoinfo"); err != nil {
		t.Skip("isoinfo not installed (apt-get install genisoimage)")
	}
	for _, name := range []string{"meta-data", "user-data", "network-config", "boot.sh", "boot.essential.Linux/05-etc-environment.sh", "provision.system/00000000", "lima-guestagent"} {
		out, err := exec.Command("isoinfo", "-R", "-i", isoPath, "-x", "/"+name).Output()
		if err != nil {
			t.Fatalf("isoinfo -x /%s: %v", name, err)
		}
		if !bytes.Equal(out, byPath[name]) || len(out) == 0 {
			t.Errorf("isoinfo -x /%s differs from the seed", name)
		}
	}
	out, err := exec.Command("isoinfo", "-d", "-i", isoPath).Output()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(out), "Volume id: cidata") {
		t.Errorf("isoinfo -d:\n%s", out)
	}
}

func TestWriteDir(t *testing.T) {
	a := baseArgs(t)
	a.GuestAgentBinary = writeTemp(t, "ga", "agent bytes")
	seed, err := Generate(a)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "cidata")
	if err := os.MkdirAll(filepath.Join(dir, "stale"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := seed.WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "stale")); err == nil {
		t.Error("WriteDir left an old entry")
	}
	got, err := os.ReadFile(filepath.Join(dir, "boot.essential.Linux", "05-etc-environment.sh"))
	if err != nil || !bytes.Equal(got, seed.File("boot.essential.Linux/05-etc-environment.sh")) {
		t.Errorf("boot script not written: %v", err)
	}
	st, err := os.Stat(filepath.Join(dir, "boot.sh"))
	if err != nil || st.Mode().Perm()&0o100 == 0 {
		t.Errorf("boot.sh is not executable: %v %v", st.Mode(), err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "lima-guestagent")); err != nil || string(got) != "agent bytes" {
		t.Errorf("guest agent in the directory: %q, %v", got, err)
	}
}
