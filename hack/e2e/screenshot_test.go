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

// testScreenshot captures the running instance's display. The suite's instance has the default
// `video.display: none`, for which our qemu plan adds no display device at all (-vga none), so
// QEMU has nothing to capture: the command must fail with exit status 1, say why and what to set,
// and leave no file. Should the instance get a display device, the file must be a PNG of a
// console-sized screen.
func testScreenshot(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.png")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	r, err := limactl(ctx, nil, "screenshot", vm, "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	if r.code != 0 {
		if r.code != 1 || !strings.Contains(r.stderr, "screenshot failed") || !strings.Contains(r.stderr, "no console") ||
			!strings.Contains(r.stderr, "video.display") {
			t.Fatalf("screenshot of an instance without a display: want exit 1 naming video.display:\n%s", r)
		}
		if _, err := os.Stat(out); !os.IsNotExist(err) {
			t.Errorf("%s exists after a failed screenshot", out)
		}
		// No temporary directory is left in the instance directory either.
		if left, _ := filepath.Glob(filepath.Join(instDir(vm), ".screenshot-*")); len(left) != 0 {
			t.Errorf("left behind: %v", left)
		}
		return
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
}

// testScreenshot is a step of TestVM (after Start, while the instance runs); this keeps the linter
// quiet until the step list names it.
var _ = testScreenshot
