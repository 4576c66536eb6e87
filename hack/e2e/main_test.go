//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

var (
	skipReason string // why the suite does not run, "" when it does
	limactlBin string // built once in TestMain
	limaHome   string // a temporary LIMA_HOME
	limaCache  string // a temporary LIMA_CACHE_HOME: downloads never touch the user's cache
	imageDir   string // LIMACTL_E2E_IMAGE_DIR
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	imageDir = os.Getenv("LIMACTL_E2E_IMAGE_DIR")
	switch {
	case imageDir == "":
		skipReason = "LIMACTL_E2E_IMAGE_DIR is not set; build the test image (sudo hack/build-test-image.sh) and set it to the printed directory, or run `make test`"
	case !fileExists(filepath.Join(imageDir, "test-image.yaml")):
		skipReason = fmt.Sprintf("LIMACTL_E2E_IMAGE_DIR=%s holds no test-image.yaml; run hack/build-test-image.sh", imageDir)
	default:
		if _, err := exec.LookPath("qemu-system-x86_64"); err != nil {
			skipReason = "qemu-system-x86_64 is not installed (hack/install-host-deps.sh installs it)"
		}
	}
	if skipReason != "" {
		return m.Run()
	}
	tmp, err := os.MkdirTemp("", "limactl-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(tmp)
	limactlBin = filepath.Join(tmp, "bin", "limactl")
	build := exec.Command("go", "build", "-o", limactlBin, "../../cmd/limactl")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building limactl:", err)
		return 1
	}
	// The user-v2 switch (TestUserV2) goes where `make install` puts it: <prefix>/libexec/lima.
	usernetBuild := exec.Command("go", "build", "-o", filepath.Join(tmp, "libexec", "lima", "lima-usernet"), "../../cmd/lima-usernet")
	usernetBuild.Stdout, usernetBuild.Stderr = os.Stderr, os.Stderr
	if err := usernetBuild.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building lima-usernet:", err)
		return 1
	}
	// The guest agent goes where limactl looks for it: <prefix>/share/lima next to <prefix>/bin.
	agent := exec.Command("go", "build", "-o", filepath.Join(tmp, "share", "lima", "lima-guestagent.Linux-x86_64"), "../../cmd/lima-guestagent")
	agent.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	agent.Stdout, agent.Stderr = os.Stderr, os.Stderr
	if err := agent.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building lima-guestagent:", err)
		return 1
	}
	limaHome = filepath.Join(tmp, "lima")
	limaCache = filepath.Join(tmp, "cache")
	code := m.Run()
	// Leave nothing running whatever the tests did.
	for _, name := range instanceNames() {
		_, _ = limactl(context.Background(), nil, "delete", "-f", name)
	}
	return code
}

func requireVM(t *testing.T) {
	t.Helper()
	if skipReason != "" {
		t.Skip(skipReason)
	}
}

// result is one limactl run.
type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, r.stderr)
}

// limactl runs the binary with the suite's LIMA_HOME. A failure to run it at all is an error; a
// non-zero exit is only reported in the result.
func limactl(ctx context.Context, stdin io.Reader, args ...string) (result, error) {
	return limactlWithEnv(ctx, env(), stdin, args...)
}

// limactlWithEnv is limactl with another environment (environ as os.Environ gives it).
func limactlWithEnv(ctx context.Context, environ []string, stdin io.Reader, args ...string) (result, error) {
	cmd := exec.CommandContext(ctx, limactlBin, args...)
	cmd.Env = environ
	cmd.Stdin = stdin
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	r := result{stdout: o.String(), stderr: e.String()}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		r.code = ee.ExitCode()
		return r, nil
	}
	return r, err
}

func env() []string {
	return append(os.Environ(), "LIMA_HOME="+limaHome, "LIMA_CACHE_HOME="+limaCache, "PATH="+filepath.Dir(limactlBin)+":"+os.Getenv("PATH"))
}

// must runs limactl and fails the test unless it exits 0.
func must(t *testing.T, timeout time.Duration, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := limactl(ctx, nil, args...)
	if err != nil || r.code != 0 {
		t.Fatalf("limactl %s: %v\n%s", strings.Join(args, " "), err, r)
	}
	return r
}

func instanceNames() []string {
	entries, _ := os.ReadDir(limaHome)
	var names []string
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), "_") && !strings.HasPrefix(e.Name(), ".") {
			names = append(names, e.Name())
		}
	}
	return names
}

func instDir(name string) string { return filepath.Join(limaHome, name) }

// pidFile reads a pid file of the instance; 0 when there is none.
func pidFile(name, file string) int {
	b, err := os.ReadFile(filepath.Join(instDir(name), file))
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// alive reports whether pid runs and is not a zombie.
func alive(pid int) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z' {
		return false
	}
	return true
}

// status is the instance's status as `limactl list` shows it.
func status(t *testing.T, name string) string {
	t.Helper()
	r := must(t, time.Minute, "list", "--format", "{{.Status}}", name)
	return strings.TrimSpace(r.stdout)
}

// waitFor polls cond until it holds or the (generous) bound passes; no timing is asserted.
func waitFor(t *testing.T, what string, bound time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(bound)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s waiting for %s", bound, what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// getWhenUp polls url until it answers 200 OK (within bound) and returns the body.
func getWhenUp(t *testing.T, url, what string, bound time.Duration) string {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second}
	var body string
	waitFor(t, what, bound, func() bool {
		resp, err := client.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return resp.StatusCode == http.StatusOK
	})
	return body
}
