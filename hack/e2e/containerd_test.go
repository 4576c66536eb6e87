//go:build linux

package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The test guest's containerd comes from the stand-in nerdctl-full archive that
// hack/build-test-image.sh builds from Debian packages (docs/test-image.md): containerd, runc and a
// nerdctl stand-in that drives ctr, in system mode. TestVM's first start turns it on with an
// archive served from the loopback, as a release server would serve the real one.
const (
	containerdArchive = "nerdctl-full-test.tgz"
	helloImage        = "hello-image.tar" // an OCI archive of docker.io/library/hello:test (busybox)
)

// archives serves the stand-in archive during TestVM.
var archives *httptest.Server

// archiveServer serves the image directory's stand-in archive; TestVM keeps it up while it runs, as
// restarts that find the archive in another download cache fetch it again.
func archiveServer(t *testing.T) *httptest.Server {
	t.Helper()
	if !fileExists(filepath.Join(imageDir, containerdArchive)) {
		t.Fatalf("%s has no %s: rebuild the test image (hack/build-test-image.sh --force)", imageDir, containerdArchive)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/"+containerdArchive, func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(imageDir, containerdArchive))
	})
	return httptest.NewServer(mux)
}

// containerdSets turns on the system containerd from the archive at srv, with its digest.
func containerdSets(t *testing.T, srv *httptest.Server) []string {
	t.Helper()
	sum, err := os.ReadFile(filepath.Join(imageDir, containerdArchive+".sha256"))
	if err != nil {
		t.Fatal(err)
	}
	return []string{"--set", `.containerd = {"system": true, "user": false, "archives": [{"location": "` +
		srv.URL + "/" + containerdArchive + `", "arch": "x86_64", "digest": "sha256:` + strings.TrimSpace(string(sum)) + `"}]}`}
}

// testContainerd: READY came after containerd, which answers; an image loaded from a local tarball
// runs through the host's nerdctl.lima wrapper, arguments and exit codes intact.
func testContainerd(t *testing.T) {
	if !strings.Contains(startOutput, "Waiting for the containerd binaries to be installed and containerd to start") {
		t.Errorf("start did not wait for containerd:\n%s", startOutput)
	}
	if out := must(t, time.Minute, "shell", vm, "sudo", "ctr", "version").stdout; !strings.Contains(out, "Server:") {
		t.Errorf("ctr version: no server answered:\n%s", out)
	}
	must(t, time.Minute, "shell", vm, "nerdctl", "version")
	must(t, 2*time.Minute, "copy", filepath.Join(imageDir, helloImage), vm+":/tmp/"+helloImage)

	// The wrappers as `make install` puts them beside limactl.
	bin := filepath.Dir(limactlBin)
	for _, w := range []string{"lima", "nerdctl.lima"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "cmd", w))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(bin, w), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	wrapper := func(args ...string) (string, int) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, filepath.Join(bin, "nerdctl.lima"), args...)
		cmd.Env = append(env(), "LIMA_INSTANCE="+vm)
		cmd.Dir = os.TempDir() // not mounted in the guest: the command runs in the guest's home
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		defer func() {
			if t.Failed() {
				t.Logf("nerdctl.lima %s: stderr:\n%s", strings.Join(args, " "), stderr.String())
			}
		}()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("nerdctl.lima %s: %v", strings.Join(args, " "), err)
		}
		return string(out), code
	}
	if out, code := wrapper("load", "-i", "/tmp/"+helloImage); code != 0 {
		t.Fatalf("nerdctl.lima load: exit %d\n%s", code, out)
	}
	if out, code := wrapper("run", "--rm", "hello:test", "echo", "hello"); code != 0 || out != "hello\n" {
		t.Errorf("nerdctl.lima run --rm hello:test echo hello: exit %d, %q", code, out)
	}
	if out, code := wrapper("run", "--rm", "hello:test", "sh", "-c", "echo 'two words'; exit 3"); code != 3 || out != "two words\n" {
		t.Errorf("nerdctl.lima run ... exit 3: exit %d, %q", code, out)
	}
}

// testContainerdInstalledOnce runs after a restart: the guest found the same archive installed and
// did not extract it again, and containerd came back.
func testContainerdInstalledOnce(t *testing.T) {
	log := must(t, time.Minute, "shell", vm, "sudo", "cat", "/var/log/cloud-init-output.log").stdout
	if n := strings.Count(log, "LIMA: containerd-install "); n != 1 {
		t.Errorf("the archive was extracted %d times, want once", n)
	}
	if !strings.Contains(log, containerdArchive+" is already installed") {
		t.Errorf("the restart did not find the archive installed")
	}
	must(t, time.Minute, "shell", vm, "sudo", "ctr", "version")
}
