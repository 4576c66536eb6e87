package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/iostreams"
)

func TestPNGToBMP(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 3, 2))
	img.Set(0, 0, color.RGBA{R: 255, A: 255}) // top left red
	img.Set(2, 1, color.RGBA{B: 255, A: 255}) // bottom right blue
	var p bytes.Buffer
	if err := png.Encode(&p, img); err != nil {
		t.Fatal(err)
	}
	bmp, err := pngToBMP(p.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	le := binary.LittleEndian
	stride := 12 // 3 pixels * 3 bytes, padded to 4
	if string(bmp[:2]) != "BM" || int(le.Uint32(bmp[2:])) != len(bmp) || len(bmp) != 54+stride*2 {
		t.Fatalf("header: % x (len %d)", bmp[:14], len(bmp))
	}
	if w, h := le.Uint32(bmp[18:]), le.Uint32(bmp[22:]); w != 3 || h != 2 {
		t.Fatalf("size %dx%d", w, h)
	}
	// Rows are bottom-up, pixels BGR.
	bottom, top := bmp[54:54+stride], bmp[54+stride:]
	if !bytes.Equal(top[:3], []byte{0, 0, 255}) || !bytes.Equal(bottom[6:9], []byte{255, 0, 0}) {
		t.Errorf("pixels: top % x, bottom % x", top, bottom)
	}
	if _, err := pngToBMP([]byte("not a png")); err == nil {
		t.Error("garbage converted")
	}
}

// A running instance whose QEMU does not answer on QMP: the command fails and writes nothing.
func TestScreenshotWritesNothingOnFailure(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	fakeRunningInstance(t, "vm", t.TempDir())
	ios, _, _, _ := iostreams.Test()
	out := filepath.Join(t.TempDir(), "s.png")
	err := runScreenshot(context.Background(), &ScreenshotOptions{IO: ios, Instance: "vm", Output: out})
	if err == nil || !strings.HasPrefix(err.Error(), "screenshot failed: ") {
		t.Fatalf("got %v, want screenshot failed: ...", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("%s exists after a failure", out)
	}
	err = runScreenshot(context.Background(), &ScreenshotOptions{IO: ios, Instance: "vm", Output: "s.jpg"})
	if err == nil || err.Error() != `unsupported output extension ".jpg": must be .png or .bmp` {
		t.Errorf("jpg: %v", err)
	}
}
