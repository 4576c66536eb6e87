package instance

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/downloader"
	"github.com/limactl/limactl/pkg/osutil"
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
	want := "instance `vm` is being started by another process (pid " + strconv.Itoa(os.Getpid()) + ")"
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
	writePID(t, inst.Dir, filenames.HostAgentPID, startSleeper(t, inst.Dir))
	writePID(t, inst.Dir, filenames.PIDFile(inst.VMType), startSleeper(t, inst.Dir))
	// Running: nothing is prepared or spawned (Executable does not exist).
	if err := Start(context.Background(), "vm", StartOptions{Executable: "/nonexistent"}); err != nil {
		t.Fatalf("Start of a running instance: %v", err)
	}
}

func TestStopForciblyBroken(t *testing.T) {
	setLimaHome(t)
	inst := mustCreate(t, "vm")
	writePID(t, inst.Dir, filenames.HostAgentPID, startSleeper(t, inst.Dir)) // the hypervisor is gone: Broken
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
	if osutil.ProcessAlive(inst.HostAgentPID) {
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
	want := "expected status `Running`, got `Stopped` (maybe use `limactl stop -f`?)"
	if err := StopGracefully(context.Background(), inst); err == nil || err.Error() != want {
		t.Fatalf("StopGracefully of a stopped instance: %v", err)
	}
}

// TestPrepareCopiesImageIntoInstance: an http(s) image is fetched through the download cache into
// the instance directory, and the disk is an overlay on that copy, so neither pruning the cache nor
// losing the server breaks the instance.
func TestPrepareCopiesImageIntoInstance(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (hack/install-host-deps.sh installs it)")
	}
	setLimaHome(t)
	t.Setenv("LIMA_CACHE_HOME", t.TempDir())
	image := bytes.Repeat([]byte{0x5a}, 1<<20)
	archive := []byte("not really a nerdctl-full archive")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/nerdctl-full.tgz" {
			_, _ = w.Write(archive)
			return
		}
		_, _ = w.Write(image)
	}))
	defer srv.Close()
	yaml := fmt.Sprintf("images:\n- location: %s/guest.raw\n  arch: %s\ndisk: 2GiB\nmounts: []\n"+
		"containerd:\n  system: true\n  archives:\n  - location: %s/nerdctl-full.tgz\n    digest: sha256:%x\n",
		srv.URL, store.HostArch(), srv.URL, sha256.Sum256(archive))
	inst, err := Create(context.Background(), "vm", []byte(yaml), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := Prepare(context.Background(), inst, PrepareOptions{}); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	// The nerdctl archive (containerd is on) is in the cache, digest checked, for the host agent.
	if _, err := downloader.Cached(srv.URL+"/nerdctl-full.tgz", downloader.WithExpectedDigest(fmt.Sprintf("sha256:%x", sha256.Sum256(archive)))); err != nil {
		t.Errorf("the nerdctl archive is not in the cache after Prepare: %v", err)
	}
	got, err := os.ReadFile(filepath.Join(inst.Dir, filenames.Image))
	if err != nil || !bytes.Equal(got, image) {
		t.Fatalf("instance image: %d bytes, %v; want the served %d bytes", len(got), err, len(image))
	}
	out, err := exec.Command("qemu-img", "info", "--output=json", filepath.Join(inst.Dir, filenames.Disk)).Output()
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		BackingFilename string `json:"backing-filename"`
		VirtualSize     int64  `json:"virtual-size"`
	}
	if err := json.Unmarshal(out, &info); err != nil {
		t.Fatal(err)
	}
	if filepath.Base(info.BackingFilename) != filenames.Image || info.VirtualSize != 2<<30 {
		t.Errorf("disk backing %q, size %d; want an overlay on the instance's own image, 2 GiB", info.BackingFilename, info.VirtualSize)
	}
	// Idempotent: nothing is fetched again (the server is gone) and the disk is kept.
	if err := Prepare(context.Background(), inst, PrepareOptions{}); err != nil {
		t.Errorf("second Prepare: %v", err)
	}
}
