package wsl2_test

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/drivertest"
	"github.com/limactl/limactl/pkg/driver/wsl2"
	"github.com/limactl/limactl/pkg/driver/wsl2/wslfake"
	"github.com/limactl/limactl/pkg/limayaml"
)

// otherDistro is a distro of the user that every test checks is left running.
const otherDistro = "Ubuntu"

// testToWSLPath maps the test's host paths into the distro: Windows paths as on a real host, POSIX
// temporary directories (tests on Linux) under /mnt/host.
func testToWSLPath(p string) (string, error) {
	if runtime.GOOS == "windows" {
		return wsl2.WindowsToWSLPath(p)
	}
	return "/mnt/host" + filepath.ToSlash(p), nil
}

// writeRootFS writes a minimal tar root filesystem.
func writeRootFS(t *testing.T, path string) {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	body := []byte("ID=test\n")
	if err := tw.WriteHeader(&tar.Header{Name: "etc/os-release", Mode: 0o644, Size: int64(len(body)), Format: tar.FormatUSTAR}); err != nil {
		t.Fatal(err)
	}
	if _, err := tw.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// newInstance makes an instance directory with a root filesystem and returns its driver config.
func newInstance(t *testing.T, name string) driver.Config {
	t.Helper()
	dir := filepath.Join(tempDir(t), name)
	if err := os.MkdirAll(filepath.Join(dir, "cidata"), 0o700); err != nil {
		t.Fatal(err)
	}
	writeRootFS(t, filepath.Join(dir, "image"))
	vmType := limayaml.WSL2
	return driver.Config{Name: name, InstanceDir: dir, Config: &limayaml.LimaYAML{VMType: &vmType}}
}

// checkHostUntouched fails when the driver stopped the user's other distro or ran --shutdown.
func checkHostUntouched(t *testing.T, h *wslfake.Host) {
	t.Helper()
	if !h.Running(otherDistro) {
		t.Errorf("the driver stopped the user's distro %s", otherDistro)
	}
	for _, c := range h.Calls() {
		if strings.HasPrefix(c, "--shutdown") || strings.Contains(c, otherDistro) {
			t.Errorf("the driver ran wsl.exe %s", c)
		}
	}
}

func newFakeHost(t *testing.T, configure func(*wslfake.Host)) *wslfake.Host {
	t.Helper()
	h := &wslfake.Host{Dir: tempDir(t)}
	if configure != nil {
		configure(h)
	}
	if err := h.AddDistro(otherDistro, true); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { checkHostUntouched(t, h) })
	return h
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name      string
		configure func(*wslfake.Host)
	}{
		{"utf16", nil},
		{"utf8", func(h *wslfake.Host) { h.HonourUTF8 = true }},
		{"german", func(h *wslfake.Host) { h.Locale = "de" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
				h := newFakeHost(t, tc.configure)
				cfg := newInstance(t, "conformance")
				opts := wsl2.Options{Runner: wslfake.Runner{Host: h}, ToWSLPath: testToWSLPath}
				return wsl2.NewWithOptions(cfg, opts), drivertest.Harness{
					Sibling:   func() driver.Driver { return wsl2.NewWithOptions(cfg, opts) },
					BaseImage: cfg.BaseImagePath(),
				}
			})
		})
	}
}

// TestStartBoots follows one start: the boot launcher reaches the distro on stdin, the address is the
// distro's, and stop terminates this distro only.
func TestStartBoots(t *testing.T) {
	h := newFakeHost(t, nil)
	cfg := newInstance(t, "boots")
	d := wsl2.NewWithOptions(cfg, wsl2.Options{Runner: wslfake.Runner{Host: h}, ToWSLPath: testToWSLPath})
	ctx := context.Background()
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cfg.InstanceDir, "ext4.vhdx")); err != nil {
		t.Errorf("the import did not put the distro's disk in the instance directory: %v", err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	addr, err := d.SSHAddress(ctx)
	if err != nil || !strings.HasPrefix(addr, "172.28.") {
		t.Errorf("SSHAddress = %q, %v; want the distro's eth0 address", addr, err)
	}
	if err := d.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-errCh; err != nil {
		t.Errorf("Start channel after Stop: %v", err)
	}
	p, err := d.Plan()
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(h.Dir, "lima-boots.boot.sh"))
	if err != nil {
		t.Fatalf("the boot script did not reach the distro: %v", err)
	}
	if string(got) != p.BootLauncher() || !strings.Contains(string(got), p.BootScript()) {
		t.Error("the distro received another script than Plan.BootLauncher with Plan.BootScript")
	}
	calls := h.Calls()
	if !slices.Contains(calls, "--terminate lima-boots") {
		t.Errorf("no --terminate lima-boots among the calls: %q", calls)
	}
}

func TestKeepAliveDeathIsReported(t *testing.T) {
	h := newFakeHost(t, nil)
	cfg := newInstance(t, "orphan")
	r := &recordingRunner{Runner: wslfake.Runner{Host: h}}
	d := wsl2.NewWithOptions(cfg, wsl2.Options{Runner: r, ToWSLPath: testToWSLPath})
	ctx := context.Background()
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// The keep-alive process dies but the distro still runs (as after wsl.exe crashed).
	if err := r.started[0].Kill(); err != nil {
		t.Fatal(err)
	}
	if err := <-errCh; err == nil || !strings.Contains(err.Error(), "still runs") {
		t.Errorf("Start channel = %v; want an error saying the distro still runs", err)
	}
	if err := d.Kill(ctx); err != nil {
		t.Fatal(err)
	}
	if h.Running("lima-orphan") {
		t.Error("Kill left the distro running")
	}
}

// recordingRunner keeps the processes it started (the keep-alive first).
type recordingRunner struct {
	wslfake.Runner
	started []wsl2.Process
}

func (r *recordingRunner) Start(inv wsl2.Invocation, out io.Writer) (wsl2.Process, error) {
	p, err := r.Runner.Start(inv, out)
	if err == nil {
		r.started = append(r.started, p)
	}
	return p, err
}
