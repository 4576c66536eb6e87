//go:build linux

package e2e

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testScreenshot captures the running instance's display: TestVM starts it with `video.display: vnc`
// (on 127.0.0.1, password-protected), so QEMU has a virtio-vga device, which the trimmed test
// kernel drives in VGA text mode. The file must be a PNG of a console-sized screen. (Without a
// display device the command fails saying so: the qemu driver's tests cover that with real QEMU.)
func testScreenshot(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.png")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := limactl(ctx, nil, "screenshot", vm, "-o", out)
	if err != nil || r.code != 0 {
		t.Fatalf("limactl screenshot: %v\n%s", err, r)
	}
	if !strings.Contains(r.stderr, "Screenshot saved to") {
		t.Errorf("want \"Screenshot saved to\":\n%s", r)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("%s is not a PNG: %v", out, err)
	}
	if b := img.Bounds(); b.Dx() < 640 || b.Dy() < 400 {
		t.Errorf("screenshot is %dx%d, want at least a 640x400 text console", b.Dx(), b.Dy())
	}
	t.Logf("screenshot: %dx%d, %d bytes", img.Bounds().Dx(), img.Bounds().Dy(), len(data))
	if left, _ := filepath.Glob(filepath.Join(instDir(vm), ".screenshot-*")); len(left) != 0 {
		t.Errorf("left behind in the instance directory: %v", left)
	}
}
