package qemu

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
)

// startPausedQEMU runs an x86_64 q35 machine that never runs a guest instruction (-S), with the
// display devices our plan gives video.display, but no window (-display none).
func startPausedQEMU(t *testing.T, display string) (qmpSock string) {
	t.Helper()
	bin := needQEMU(t)
	var p Plan
	y := &limayaml.LimaYAML{}
	y.Video.Display = &display
	displayArgs(&p, y, limayaml.X8664)
	var devices []string
	for i := 0; i < len(p.Args); i++ {
		if p.Args[i] == "-display" {
			i++ // no window in a test
			continue
		}
		devices = append(devices, p.Args[i])
	}
	dir := t.TempDir()
	qmpSock = filepath.Join(dir, "qmp.sock")
	args := append([]string{"-machine", "q35", "-accel", "tcg", "-nodefaults", "-S", "-display", "none"}, devices...)
	args = append(args, "-chardev", "socket,id=char-qmp,path="+qmpSock+",server=on,wait=off", "-qmp", "chardev:char-qmp")
	cmd := exec.Command(bin, args...)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := waitForSocket(ctx, qmpSock, nil); err != nil {
		t.Fatal(err)
	}
	return qmpSock
}

func dialForTest(t *testing.T, sock string) *QMP {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := DialQMP(ctx, sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

func TestScreendumpPNG(t *testing.T) {
	q := dialForTest(t, startPausedQEMU(t, "vnc"))
	instDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	data, err := screendump(ctx, q, instDir)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	// A display adapter nobody has programmed yet shows QEMU's 640x480 placeholder.
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Errorf("size %v, want 640x480", b)
	}
	if entries, _ := os.ReadDir(instDir); len(entries) != 0 {
		t.Errorf("left in the instance directory: %v", entries)
	}
}

func TestScreendumpWithoutDisplay(t *testing.T) {
	q := dialForTest(t, startPausedQEMU(t, "none"))
	instDir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	_, err := screendump(ctx, q, instDir)
	if !errors.Is(err, driver.ErrUnsupported) {
		t.Fatalf("got %v, want ErrUnsupported", err)
	}
	t.Log(err)
	if entries, _ := os.ReadDir(instDir); len(entries) != 0 {
		t.Errorf("left in the instance directory: %v", entries)
	}
}

func TestScreenshotNotRunning(t *testing.T) {
	d := New(driver.Config{Name: "vm", InstanceDir: t.TempDir()})
	s, ok := d.(driver.Screenshotter)
	if !ok {
		t.Fatal("the qemu driver is not a driver.Screenshotter")
	}
	if _, err := s.Screenshot(context.Background()); !errors.Is(err, driver.ErrNotRunning) {
		t.Fatalf("got %v, want ErrNotRunning", err)
	}
}
