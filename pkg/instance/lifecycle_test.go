package instance

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/lockutil"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

func inspect(t *testing.T, name string) *store.Instance {
	t.Helper()
	inst, err := store.Inspect(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

func TestDeleteProtectedAndRunning(t *testing.T) {
	setLimaHome(t)
	ctx := context.Background()
	inst := mustCreate(t, "victim")
	if err := Protect(inst); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, inspect(t, "victim"), true); !errors.Is(err, ErrProtected) {
		t.Fatalf("deleting a protected instance: got %v, want ErrProtected", err)
	}
	if err := Unprotect(inst); err != nil {
		t.Fatal(err)
	}
	writePID(t, inst.Dir, filenames.HostAgentPID, startSleeper(t, inst.Dir))
	writePID(t, inst.Dir, filenames.PIDFile("qemu"), startSleeper(t, inst.Dir))
	running := inspect(t, "victim")
	if running.Status != store.StatusRunning {
		t.Fatalf("status = %q, want Running", running.Status)
	}
	if err := Delete(ctx, running, false); err == nil || !strings.Contains(err.Error(), "--force") {
		t.Fatalf("deleting a running instance without force: got %v", err)
	}
	if err := Delete(ctx, running, true); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Inspect(ctx, "victim"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("instance still there: %v", err)
	}
}

func TestCloneAndRename(t *testing.T) {
	limaHome := setLimaHome(t)
	ctx := context.Background()
	src := mustCreate(t, "src")
	for _, f := range []string{filenames.VZIdentifier, filenames.Disk, "swtpm/state", "ha.sock"} {
		p := filepath.Join(src.Dir, f)
		_ = os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, []byte(f), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Protect(src); err != nil {
		t.Fatal(err)
	}
	clone, err := Clone(ctx, inspect(t, "src"), "dst", []string{".cpus = 3"})
	if err != nil {
		t.Fatal(err)
	}
	if clone.CPUs != 3 || clone.Protected {
		t.Fatalf("clone: cpus=%d protected=%v; want 3, false", clone.CPUs, clone.Protected)
	}
	if diff := cmp.Diff([]string{filenames.Disk, filenames.InstanceLock, filenames.LimaVersion, filenames.LimaYAML}, dirFiles(t, clone.Dir)); diff != "" {
		t.Fatalf("clone files (-want +got):\n%s", diff)
	}
	if _, err := Clone(ctx, inspect(t, "src"), "dst", nil); !errors.Is(err, ErrExist) {
		t.Fatalf("cloning onto an existing instance: got %v", err)
	}
	renamed, err := Rename(ctx, inspect(t, "dst"), "moved", []string{".memory = \"3GiB\""})
	if err != nil {
		t.Fatal(err)
	}
	if renamed.Memory != 3<<30 || renamed.Dir != filepath.Join(limaHome, "moved") {
		t.Fatalf("renamed: %+v", renamed)
	}
	if _, err := store.Inspect(ctx, "dst"); !errors.Is(err, store.ErrNotExist) {
		t.Fatalf("old name still there: %v", err)
	}

	writePID(t, src.Dir, filenames.HostAgentPID, startSleeper(t, src.Dir))
	writePID(t, src.Dir, filenames.PIDFile("qemu"), startSleeper(t, src.Dir))
	if _, err := Rename(ctx, inspect(t, "src"), "other", nil); err == nil || !strings.HasPrefix(err.Error(), "cannot rename a running instance") {
		t.Fatalf("renaming a running instance: got %v", err)
	}
	if l := leftovers(t, limaHome); len(l) != 0 {
		t.Fatalf("temporary dirs left behind: %v", l)
	}
}

func TestEditRejectsDiskShrink(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "ed")
	err := ApplyEdits(context.Background(), inst, []string{`.disk = "5GiB"`})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "shrink") {
		t.Fatalf("shrinking the disk: got %v", err)
	}
	if err := ApplyEdits(context.Background(), inst, []string{`.disk = "20GiB"`}); err != nil {
		t.Fatal(err)
	}
	if got := inspect(t, "ed").Disk; got != 20<<30 {
		t.Fatalf("disk = %d", got)
	}
}

func TestFactoryReset(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "fr")
	for _, f := range []string{filenames.VZIdentifier, filenames.Disk, filenames.CIDataISO, filenames.CloudConfig, filenames.SerialLog} {
		if err := os.WriteFile(filepath.Join(inst.Dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := Protect(inst); err != nil {
		t.Fatal(err)
	}
	writePID(t, inst.Dir, filenames.HostAgentPID, startSleeper(t, inst.Dir))
	writePID(t, inst.Dir, filenames.PIDFile("qemu"), startSleeper(t, inst.Dir))
	running := inspect(t, "fr")
	if running.Status != store.StatusRunning {
		t.Fatalf("status = %q, want Running", running.Status)
	}
	// As in Lima, a protected instance is not reset.
	if err := FactoryReset(context.Background(), running); !errors.Is(err, ErrProtected) {
		t.Fatalf("factory-reset of a protected instance: got %v, want ErrProtected", err)
	}
	if err := Unprotect(running); err != nil {
		t.Fatal(err)
	}
	if err := FactoryReset(context.Background(), running); err != nil {
		t.Fatal(err)
	}
	if st := inspect(t, "fr").Status; st != store.StatusStopped {
		t.Fatalf("status after factory-reset = %q, want Stopped", st)
	}
	want := []string{filenames.CloudConfig, filenames.InstanceLock, filenames.LimaVersion, filenames.LimaYAML, filenames.VZIdentifier}
	if diff := cmp.Diff(want, dirFiles(t, inst.Dir)); diff != "" {
		t.Fatalf("files after factory-reset (-want +got):\n%s", diff)
	}
}

func dirFiles(t *testing.T, dir string) []string {
	t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			names = append(names, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(names)
	return names
}

func TestDeleteRefusesLockedInstance(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "busy")
	unlock, err := lockutil.Lock(filepath.Join(inst.Dir, filenames.InstanceLock))
	if err != nil {
		t.Fatal(err)
	}
	if err := Delete(context.Background(), inst, false); err == nil || !strings.Contains(err.Error(), "busy") {
		t.Fatalf("deleting a locked instance: got %v", err)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	if err := Delete(context.Background(), inst, false); err != nil {
		t.Fatal(err)
	}
}
