package instance

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

func TestLockForStartTwice(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "vm")
	unlock, err := lockForStart(inst)
	if err != nil {
		t.Fatal(err)
	}
	_, err = lockForStart(inst)
	want := `instance "vm" is being started by another process (pid ` + strconv.Itoa(os.Getpid()) + ")"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("second lock: %v, want it to contain %q", err, want)
	}
	if err := unlock(); err != nil {
		t.Fatal(err)
	}
	unlock, err = lockForStart(inst)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	_ = unlock()
}

func TestStartAlreadyRunning(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "vm")
	writePID(t, inst.Dir, filenames.HostAgentPID, startSleeper(t))
	writePID(t, inst.Dir, filenames.PIDFile(string(inst.VMType)), startSleeper(t))
	// Running: nothing is prepared or spawned (the image is an https URL, which Prepare refuses).
	if err := Start(context.Background(), "vm", StartOptions{Executable: "/nonexistent"}); err != nil {
		t.Fatalf("Start of a running instance: %v", err)
	}
}

func TestStopForciblyBroken(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "vm")
	writePID(t, inst.Dir, filenames.HostAgentPID, startSleeper(t)) // the hypervisor is gone: Broken
	for _, f := range []string{"ha.sock", "qmp.sock", "disk.tmp"} {
		if err := os.WriteFile(filepath.Join(inst.Dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	inst, err := store.Inspect(context.Background(), "vm")
	if err != nil || inst.Status != store.StatusBroken {
		t.Fatalf("status = %q (%v), want Broken", inst.Status, err)
	}
	if err := StopForcibly(context.Background(), inst); err != nil {
		t.Fatal(err)
	}
	if pidAlive(inst.HostAgentPID) {
		t.Errorf("host agent pid %d survived", inst.HostAgentPID)
	}
	entries, _ := os.ReadDir(inst.Dir)
	var left []string
	for _, e := range entries {
		left = append(left, e.Name())
	}
	want := []string{filenames.InstanceLock, filenames.LimaVersion, filenames.LimaYAML}
	if diff := cmp.Diff(want, left); diff != "" {
		t.Errorf("files after stop -f (-want +got):\n%s", diff)
	}
	inst, _ = store.Inspect(context.Background(), "vm")
	if inst.Status != store.StatusStopped {
		t.Errorf("status after stop -f = %q", inst.Status)
	}
}

func TestStopGracefullyNotRunning(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "vm")
	if err := StopGracefully(context.Background(), inst); err == nil || !strings.Contains(err.Error(), "not running") {
		t.Fatalf("StopGracefully of a stopped instance: %v", err)
	}
}

func TestLocalPath(t *testing.T) {
	file := filepath.Join(t.TempDir(), "img.qcow2")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		loc, want, errPart string
	}{
		{loc: file, want: file},
		{loc: "file://" + file, want: file},
		{loc: "https://example.com/x.qcow2", errPart: "downloading images is not implemented yet"},
		{loc: "relative.qcow2", errPart: "neither an absolute path nor a URL"},
		{loc: file + ".missing", errPart: "no such file"},
	} {
		got, err := localPath(tc.loc)
		if tc.errPart != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errPart) {
				t.Errorf("localPath(%q) error = %v, want %q", tc.loc, err, tc.errPart)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("localPath(%q) = %q, %v; want %q", tc.loc, got, err, tc.want)
		}
	}
}
