//go:build unix

package qemu

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// TestPrepareMountDirOwner: as root, a mount folder prepare creates belongs to the guest user; one
// that existed keeps its owner.
func TestPrepareMountDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the folder is only handed over when limactl runs as root")
	}
	base := t.TempDir()
	existing, fresh := filepath.Join(base, "existing"), filepath.Join(base, "new", "tmp-lima")
	if err := os.Mkdir(existing, 0o755); err != nil {
		t.Fatal(err)
	}
	uid := uint32(1000)
	d := &Driver{cfg: driver.Config{Name: "vm", InstanceDir: base, Config: &limayaml.LimaYAML{User: limayaml.User{UID: &uid}}}}
	if err := d.prepare(&Plan{MountDirs: []string{existing, fresh}}); err != nil {
		t.Fatal(err)
	}
	owner := func(p string) uint32 {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Sys().(*syscall.Stat_t).Uid
	}
	if got := owner(fresh); got != uid {
		t.Errorf("the new mount folder belongs to uid %d, want the guest user's %d", got, uid)
	}
	if got := owner(existing); got != 0 {
		t.Errorf("an existing mount folder changed owner to %d", got)
	}
}
