package limayaml

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// linuxHost is the machine most tests pretend to run on.
var linuxHost = HostInfo{
	OS: "linux", Arch: X8664, CPUs: 8, MemoryBytes: 16 << 30,
	User: "alice", UID: 1001, Home: "/home/alice", TimeZone: "Europe/Berlin",
	MachineID: "test-machine-id", TempDir: "/tmp/alice-tmp",
}

// withHost sets Host() for the duration of the test, and points LIMA_HOME at an empty directory.
func withHost(t *testing.T, h HostInfo) string {
	t.Helper()
	old := detectedHost
	detectedHost = func() HostInfo { return h }
	t.Cleanup(func() { detectedHost = old })
	limaHome := t.TempDir()
	t.Setenv("LIMA_HOME", limaHome)
	return limaHome
}

// instFile returns the path of lima.yaml of instance name under limaHome (not created).
func instFile(limaHome, name string) string {
	return filepath.Join(limaHome, name, "lima.yaml")
}

func mustWrite(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func reflectLimaYAML() reflect.Type { return reflect.TypeFor[LimaYAML]() }
