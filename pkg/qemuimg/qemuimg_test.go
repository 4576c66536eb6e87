package qemuimg

import (
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestCreateAndInfo(t *testing.T) {
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed")
	}
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "d.qcow2")
	if _, err := Run(ctx, "create", "-f", "qcow2", p, "64M"); err != nil {
		t.Fatal(err)
	}
	for _, share := range []bool{false, true} {
		info, err := GetInfo(ctx, p, share)
		if err != nil {
			t.Fatal(err)
		}
		if info.Format != "qcow2" || info.VirtualSize != 64<<20 {
			t.Errorf("info (forceShare=%v) = %+v, want qcow2 of 64 MiB", share, info)
		}
	}
	_, err := GetInfo(ctx, filepath.Join(t.TempDir(), "missing"), false)
	if err == nil {
		t.Fatal("info of a missing file succeeded")
	}
}

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Run(context.Background(), "--version"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
}
