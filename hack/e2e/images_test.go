//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestImages starts instances from the test image served over HTTP on the loopback, as a user
// starts a template whose image is a URL, and then manages the instance's disks and snapshots.
// The cases run in order and build on each other; four boots in all:
//
//   - a wrong digest is refused and nothing is kept;
//   - a download interrupted by Ctrl-C half-way resumes on the next start (Range + If-Range), which
//     boots instance img from the plain qcow2 with its kernel and initrd also fetched over HTTP;
//   - instance zst boots from a zstd-compressed copy, with a progress bar on a terminal;
//   - with the server gone, img is factory-reset and boots again from the cache; it gets an
//     additional disk, data is written, an online snapshot taken, the file changed;
//   - stopped, the disk grows and the snapshot is applied; after the next boot the file has its
//     old content and the additional disk its data, on a grown filesystem;
//   - prune --keep-referred keeps what img uses and drops what the deleted zst used; prune empties.
func TestImages(t *testing.T) {
	requireVM(t)
	srv := newImageServer(t)
	defer srv.Close()
	t.Cleanup(func() {
		for _, n := range []string{"img-bad", imgVM, zstVM} {
			_, _ = limactl(context.Background(), nil, "delete", "-f", n)
		}
	})
	steps := []struct {
		name string
		fn   func(t *testing.T, s *imageServer)
	}{
		{"DigestMismatch", testDigestMismatch},
		{"BackingFileRefused", testBackingFileRefused},
		{"InterruptedDownloadResumes", testInterruptedDownload},
		{"Compressed", testCompressedImage},
		{"CacheHitWithoutServer", testCacheHit},
		{"DiskResizeAndSnapshotApply", testResizeAndSnapshotApply},
		{"Prune", testPrune},
	}
	for _, st := range steps {
		if !t.Run(st.name, func(t *testing.T) { st.fn(t, srv) }) {
			t.Fatalf("%s failed; the later cases depend on it", st.name)
		}
	}
}

const (
	imgVM = "img"
	zstVM = "zst"
)

// imageSets points the test image template at the server: image (with digest when not ""),
// kernel and initrd.
func imageSets(s *imageServer, image, digest string) []string {
	expr := `.images[0].location = "` + s.url(image) + `"` +
		` | .images[0].kernel.location = "` + s.url("vmlinuz") + `"` +
		` | .images[0].initrd.location = "` + s.url("initrd.img") + `"`
	if digest != "" {
		expr += ` | .images[0].digest = "` + digest + `"`
	}
	return []string{"--set", expr}
}

func testImageTemplate() string { return filepath.Join(imageDir, "test-image.yaml") }

func testDigestMismatch(t *testing.T, s *imageServer) {
	wrong := "sha256:" + strings.Repeat("0", 64)
	args := append([]string{"start", "--tty=false", "--name=img-bad"}, imageSets(s, "disk.qcow2", wrong)...)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := limactl(ctx, nil, append(args, testImageTemplate())...)
	if err != nil {
		t.Fatal(err)
	}
	if r.code == 0 {
		t.Fatalf("start with a wrong digest succeeded:\n%s", r)
	}
	for _, want := range []string{wrong, "digest"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("the error does not mention %q:\n%s", want, r.stderr)
		}
	}
	entry := cacheEntry(s.url("disk.qcow2"))
	for _, f := range []string{"data", "data.partial", "sha256.digest"} {
		if fileExists(filepath.Join(entry, f)) {
			t.Errorf("after a digest mismatch the cache keeps %s", f)
		}
	}
	if fileExists(filepath.Join(instDir("img-bad"), "image")) || fileExists(filepath.Join(instDir("img-bad"), "diffdisk")) {
		t.Errorf("after a digest mismatch the instance has an image or disk")
	}
	must(t, time.Minute, "delete", "-f", "img-bad")
}

// testBackingFileRefused: a base image whose qcow2 header names a backing file (a host file QEMU
// would open for the guest, CVE-2023-32684) is refused at start, naming the field; no disk is made.
func testBackingFileRefused(t *testing.T, s *imageServer) {
	evil := filepath.Join(t.TempDir(), "evil.qcow2")
	if out, err := exec.Command("qemu-img", "create", "-q", "-f", "qcow2", "-b", "/etc/hostname", "-F", "raw", evil, "64M").CombinedOutput(); err != nil {
		t.Fatalf("qemu-img create: %v\n%s", err, out)
	}
	const name = "img-evil"
	t.Cleanup(func() { _, _ = limactl(context.Background(), nil, "delete", "-f", name) })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	r, err := limactl(ctx, nil, "start", "--tty=false", "--name="+name, "--set",
		`.images[0].location = "`+evil+`" | .images[0].kernel.location = "`+s.url("vmlinuz")+`" | .images[0].initrd.location = "`+s.url("initrd.img")+`"`,
		testImageTemplate())
	if err != nil {
		t.Fatal(err)
	}
	if r.code == 0 || !strings.Contains(r.stderr, "backing") {
		t.Errorf("a base image with a backing file: want a refusal naming the backing file:\n%s", r)
	}
	for _, f := range []string{"disk", "diffdisk"} {
		if fileExists(filepath.Join(instDir(name), f)) {
			t.Errorf("the refused image left a %s", f)
		}
	}
	if len(instanceProcs(t, name)) != 0 {
		t.Errorf("the refused start left processes: %v", instanceProcs(t, name))
	}
}

func testInterruptedDownload(t *testing.T, s *imageServer) {
	before := len(s.requests("disk.qcow2")) // the digest mismatch case fetched it once already
	st := s.stallFirst("disk.qcow2", s.size/2)
	args := append([]string{"start", "--tty=false", "--name=" + imgVM}, imageSets(s, "disk.qcow2", s.digest)...)
	cmd := exec.Command(limactlBin, append(args, testImageTemplate())...)
	cmd.Env = env()
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-st.reached:
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		t.Fatalf("the download never reached half-way:\n%s", stderr.String())
	}
	// Let the client write what the server sent before pressing Ctrl-C.
	partial := filepath.Join(cacheEntry(s.url("disk.qcow2")), "data.partial")
	waitFor(t, "data.partial to fill", 2*time.Minute, func() bool {
		fi, err := os.Stat(partial)
		return err == nil && fi.Size() >= s.size/4
	})
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	close(st.release)
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("start interrupted by SIGINT: %v, want a non-zero exit\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "again to resume") {
		t.Errorf("the interrupted start does not say how to resume:\n%s", stderr.String())
	}
	fi, err := os.Stat(partial)
	if err != nil {
		t.Fatalf("the interrupted download left no partial file to resume: %v", err)
	}
	kept := fi.Size()
	t.Logf("interrupted after %d of %d bytes", kept, s.size)

	r := must(t, bootTimeout, "start", "--tty=false", imgVM)
	reqs := s.requests("disk.qcow2")[before:]
	var total int64
	resumed := false
	for _, q := range reqs {
		total += q.bytes
		if q.status == 206 && strings.HasPrefix(q.rangeHeader, "bytes="+strconv.FormatInt(kept, 10)+"-") {
			resumed = true
		}
	}
	if !resumed {
		t.Errorf("the second start did not resume from byte %d; requests: %+v", kept, reqs)
	}
	// The half sent before the interruption, the rest once: nothing fetched twice beyond what
	// the client had not yet written when it was interrupted.
	if total > s.size+s.size/2 {
		t.Errorf("served %d bytes for a %d-byte image; requests: %+v", total, s.size, reqs)
	}
	if strings.Contains(r.stderr, "\r") {
		t.Errorf("--tty=false start drew a progress bar:\n%q", r.stderr)
	}
	for _, f := range []string{"data", "sha256.digest", "url"} {
		if !fileExists(filepath.Join(cacheEntry(s.url("disk.qcow2")), f)) {
			t.Errorf("the cache entry lacks %s", f)
		}
	}
	for _, f := range []string{"vmlinuz", "initrd.img"} {
		if !fileExists(filepath.Join(cacheEntry(s.url(f)), "data")) {
			t.Errorf("%s was not cached", f)
		}
	}
	out := must(t, time.Minute, "shell", imgVM, "cat", "/etc/debian_version")
	if strings.TrimSpace(out.stdout) == "" {
		t.Errorf("the guest has no /etc/debian_version")
	}
	must(t, 5*time.Minute, "stop", imgVM)
}

func testCompressedImage(t *testing.T, s *imageServer) {
	args := append([]string{"create", "--tty=false", "--name=" + zstVM}, imageSets(s, "disk.qcow2.zst", "")...)
	must(t, time.Minute, append(args, testImageTemplate())...)

	// SIGKILL `limactl start` in the middle of the download (faults_test.go): nothing runs, the
	// instance is Stopped, and the partial download stays for the next start to resume.
	st := s.stallFirst("disk.qcow2.zst", 16<<20)
	killed, killedOut := startInBackground(t, env(), zstVM)
	select {
	case <-st.reached:
	case <-time.After(5 * time.Minute):
		t.Fatalf("the download never reached 16 MiB:\n%s", killedOut)
	}
	partial := filepath.Join(cacheEntry(s.url("disk.qcow2.zst")), "data.partial")
	waitFor(t, "data.partial to fill", 2*time.Minute, func() bool {
		fi, err := os.Stat(partial)
		return err == nil && fi.Size() >= 8<<20
	})
	sigkill(t, killed)
	close(st.release)
	requireNoProcs(t, zstVM)
	if got := status(t, zstVM); got != "Stopped" {
		t.Errorf("status after start was killed while downloading = %q, want Stopped", got)
	}
	fi, err := os.Stat(partial)
	if err != nil {
		t.Fatalf("the killed download left no partial file to resume: %v", err)
	}
	kept := fi.Size()

	// script(1) gives limactl a terminal, where a download draws a progress bar.
	ctx, cancel := context.WithTimeout(context.Background(), bootTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", limactlBin+" start "+zstVM, "/dev/null")
	cmd.Env = env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("start under script: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("\rthe image: ")) || !bytes.Contains(out, []byte("%)")) {
		t.Errorf("no progress bar for the download on a terminal:\n%.3000q", out)
	}
	if reqs := s.requests("disk.qcow2.zst"); len(reqs) != 2 || reqs[1].status != 206 ||
		!strings.HasPrefix(reqs[1].rangeHeader, "bytes="+strconv.FormatInt(kept, 10)+"-") {
		t.Errorf("want the killed download and one resuming from byte %d; requests: %+v", kept, reqs)
	}
	// The instance holds the decompressed image: the qcow2 itself.
	img, err := os.ReadFile(filepath.Join(instDir(zstVM), "image"))
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(img)) != s.size || !bytes.HasPrefix(img, []byte("QFI\xfb")) {
		t.Errorf("the instance's image is %d bytes (want %d) starting %q (want a qcow2)", len(img), s.size, img[:min(4, len(img))])
	}
	must(t, time.Minute, "shell", zstVM, "true")
	must(t, 5*time.Minute, "delete", "-f", zstVM)
}

func testCacheHit(t *testing.T, s *imageServer) {
	s.Close() // from here on a request would fail
	must(t, 2*time.Minute, "factory-reset", imgVM)
	if fileExists(filepath.Join(instDir(imgVM), "image")) {
		t.Fatal("factory-reset kept the instance's image; the cache would not be used")
	}
	must(t, time.Minute, "disk", "create", "data", "--size", "1GiB")
	must(t, time.Minute, "edit", "--tty=false", imgVM, "--set", `.additionalDisks = [{"name": "data"}]`)
	r := must(t, bootTimeout, "start", "--tty=false", imgVM)
	if !strings.Contains(r.stderr, "Using cache") {
		t.Errorf("the start after factory-reset did not say it used the cache:\n%s", r.stderr)
	}
	// Refused while img uses it.
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if res, err := limactl(ctx, nil, "disk", "delete", "data"); err != nil || res.code == 0 {
		t.Errorf("disk delete of a disk in use: %v %s", err, res)
	}
	guest := `set -e
mountpoint -q /mnt/lima-data
echo kept >/mnt/lima-data/kept.txt
echo old >"$HOME/snap.txt"
sync
df -B1 --output=size /mnt/lima-data | tail -n 1`
	out := must(t, time.Minute, "shell", imgVM, "sh", "-c", guest)
	size, err := strconv.ParseInt(strings.TrimSpace(out.stdout), 10, 64)
	if err != nil || size < 800<<20 || size > 1<<30 {
		t.Fatalf("the additional disk's filesystem is %q bytes, want about 1 GiB (%v)", out.stdout, err)
	}
	begin := time.Now()
	must(t, 10*time.Minute, "snapshot", "create", "--tag", "t1", imgVM)
	t.Logf("online snapshot: %s", time.Since(begin).Round(100*time.Millisecond))
	if r := must(t, time.Minute, "snapshot", "list", "--quiet", imgVM); !strings.Contains(r.stdout, "t1") {
		t.Errorf("snapshot list lacks t1:\n%s", r)
	}
	must(t, time.Minute, "shell", imgVM, "sh", "-c", `echo new >"$HOME/snap.txt" && sync`)
}

func testResizeAndSnapshotApply(t *testing.T, s *imageServer) {
	must(t, 5*time.Minute, "stop", imgVM)
	must(t, time.Minute, "disk", "resize", "data", "--size", "2GiB")
	must(t, 5*time.Minute, "snapshot", "apply", "--tag", "t1", imgVM)
	must(t, bootTimeout, "start", "--tty=false", imgVM)
	out := must(t, time.Minute, "shell", imgVM, "sh", "-c",
		`cat "$HOME/snap.txt" /mnt/lima-data/kept.txt; df -B1 --output=size /mnt/lima-data | tail -n 1`)
	lines := strings.Fields(out.stdout)
	if len(lines) != 3 {
		t.Fatalf("guest output %q, want the file, the kept data and a size", out.stdout)
	}
	if lines[0] != "old" {
		t.Errorf("after snapshot apply the file holds %q, want the snapshot's \"old\"", lines[0])
	}
	if lines[1] != "kept" {
		t.Errorf("the additional disk lost its data across restarts: %q", lines[1])
	}
	if size, _ := strconv.ParseInt(lines[2], 10, 64); size < 1800<<20 {
		t.Errorf("after disk resize to 2GiB the filesystem is %s bytes", lines[2])
	}
	must(t, 5*time.Minute, "stop", imgVM)
	must(t, 5*time.Minute, "snapshot", "delete", "--tag", "t1", imgVM)
	if r := must(t, time.Minute, "snapshot", "list", "--quiet", imgVM); strings.Contains(r.stdout, "t1") {
		t.Errorf("t1 still listed after delete:\n%s", r)
	}
}

func testPrune(t *testing.T, s *imageServer) {
	must(t, time.Minute, "prune", "--keep-referred")
	kept := cacheEntries(t)
	want := map[string]bool{s.url("disk.qcow2"): true, s.url("vmlinuz"): true, s.url("initrd.img"): true}
	for _, u := range kept {
		if !want[u] {
			t.Errorf("prune --keep-referred kept %s, which no instance uses", u)
		}
		delete(want, u)
	}
	for u := range want {
		t.Errorf("prune --keep-referred deleted %s, which instance img uses", u)
	}
	must(t, 5*time.Minute, "delete", "-f", imgVM)
	must(t, time.Minute, "disk", "delete", "data")
	must(t, time.Minute, "prune")
	if left := cacheEntries(t); len(left) != 0 {
		t.Errorf("prune left %v", left)
	}
}
