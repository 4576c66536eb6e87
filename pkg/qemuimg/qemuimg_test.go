package qemuimg

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func needQEMUImg(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("qemu-img"); err != nil {
		t.Skip("qemu-img is not installed (apt-get install qemu-utils)")
	}
}

func qemuImg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
}

func TestCreateAndInfo(t *testing.T) {
	needQEMUImg(t)
	ctx := context.Background()
	p := filepath.Join(t.TempDir(), "d.qcow2")
	if _, err := Run(ctx, "create", "-f", "qcow2", p, "64M"); err != nil {
		t.Fatal(err)
	}
	for _, share := range []bool{false, true} {
		info, err := GetInfo(ctx, p, "qcow2", share)
		if err != nil {
			t.Fatal(err)
		}
		if info.Format != "qcow2" || info.VirtualSize != 64<<20 {
			t.Errorf("info (forceShare=%v) = %+v, want qcow2 of 64 MiB", share, info)
		}
		if field, file := info.ExternalFile(); field != "" {
			t.Errorf("a plain qcow2 refers to %s (%s)", file, field)
		}
	}
	if _, err := GetInfo(ctx, filepath.Join(t.TempDir(), "missing"), "qcow2", false); err == nil {
		t.Fatal("info of a missing file succeeded")
	}
	if _, err := GetInfo(ctx, p, "", false); err == nil {
		t.Fatal("info without a format succeeded: qemu-img would have probed it")
	}
	// The format given wins over the header: a qcow2 image read as raw is raw.
	info, err := GetInfo(ctx, p, "raw", false)
	if err != nil || info.Format != "raw" {
		t.Fatalf("info -f raw of a qcow2 image: %+v, %v", info, err)
	}
}

// TestRefuseExternalFiles: an image with a backing file or a qcow2 data file is refused, and the
// error names the image, the file and the `qemu-img info` field.
func TestRefuseExternalFiles(t *testing.T) {
	needQEMUImg(t)
	ctx := context.Background()
	dir := t.TempDir()
	secret := filepath.Join(dir, "host-secret")
	if err := os.WriteFile(secret, []byte("not for the guest\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	backed := filepath.Join(dir, "backed.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-b", secret, "-F", "raw", backed)
	dataFile := filepath.Join(dir, "data.raw")
	withData := filepath.Join(dir, "datafile.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-o", "data_file="+dataFile, withData, "1M")

	for _, tt := range []struct{ img, file, field string }{
		{backed, secret, "backing-filename"},
		{withData, dataFile, "format-specific.data.data-file"},
	} {
		info, err := GetInfo(ctx, tt.img, "qcow2", true)
		if err != nil {
			t.Fatal(err)
		}
		err = RefuseExternalFiles(tt.img, info)
		if !errors.Is(err, ErrExternalFile) {
			t.Fatalf("%s: error = %v, want ErrExternalFile", tt.img, err)
		}
		for _, s := range []string{tt.img, tt.file, tt.field} {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("error %q does not name %q", err, s)
			}
		}
	}
	// Only the backing file's resolved name is set (as qemu-img may report it): still refused.
	if field, _ := (&Info{FullBackingFile: secret}).ExternalFile(); field != "full-backing-filename" {
		t.Errorf("full-backing-filename alone: field %q", field)
	}
	// A VMDK extent other than the image itself.
	vmdk := &Info{Filename: "a.vmdk"}
	vmdk.FormatSpecific.Data.Extents = []Extent{{Filename: "a.vmdk"}}
	if field, _ := vmdk.ExternalFile(); field != "" {
		t.Errorf("a VMDK whose extent is itself refers to another file (%s)", field)
	}
	vmdk.FormatSpecific.Data.Extents[0].Filename = "/etc/shadow"
	if field, file := vmdk.ExternalFile(); field != "format-specific.data.extents.filename" || file != "/etc/shadow" {
		t.Errorf("VMDK extent: %q %q", field, file)
	}
}

func TestDetectFormat(t *testing.T) {
	zeros := func(n int) []byte { return make([]byte, n) }
	vdi := zeros(0x200)
	copy(vdi[0x40:], []byte{0x7f, 0x10, 0xda, 0xbe})
	for want, head := range map[string][]byte{
		"qcow2":     append([]byte("QFI\xfb\x00\x00\x00\x03"), zeros(100)...),
		"qcow":      append([]byte("QFI\xfb\x00\x00\x00\x01"), zeros(100)...),
		"qed":       append([]byte("QED\x00"), zeros(100)...),
		"vmdk":      append([]byte("KDMV"), zeros(100)...),
		"vhdx":      append([]byte("vhdxfile"), zeros(100)...),
		"vpc":       append([]byte("conectix"), zeros(100)...),
		"luks":      append([]byte("LUKS\xba\xbe"), zeros(100)...),
		"parallels": append([]byte("WithoutFreeSpace"), zeros(100)...),
		"vdi":       vdi,
		"raw":       append([]byte{0xeb, 0x63, 0x90}, zeros(509)...), // an MBR boot sector
	} {
		p := filepath.Join(t.TempDir(), want)
		if err := os.WriteFile(p, head, 0o644); err != nil {
			t.Fatal(err)
		}
		if got, err := DetectFormat(p); err != nil || got != want {
			t.Errorf("DetectFormat(%s) = %q, %v", want, got, err)
		}
	}
	for _, short := range []string{"", "QFI"} {
		if got := formatOf([]byte(short)); got != "raw" {
			t.Errorf("formatOf(%q) = %q, want raw", short, got)
		}
	}
	if _, err := DetectFormat(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("DetectFormat of a missing file succeeded")
	}

	// Real images, as qemu-img makes them.
	needQEMUImg(t)
	for _, f := range []string{"qcow2", "raw", "vmdk", "vhdx", "qed", "vdi", "vpc"} {
		p := filepath.Join(t.TempDir(), "img")
		qemuImg(t, "create", "-f", f, p, "1M")
		if got, err := DetectFormat(p); err != nil || got != f {
			t.Errorf("DetectFormat(qemu-img create -f %s) = %q, %v", f, got, err)
		}
	}
}

func TestImageOpts(t *testing.T) {
	if got, want := ImageOpts("qcow2", "/a,b/disk"), "driver=qcow2,file.filename=/a,,b/disk"; got != want {
		t.Errorf("ImageOpts = %q, want %q", got, want)
	}
}

func TestNotInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Run(context.Background(), "--version"); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("err = %v, want ErrNotInstalled", err)
	}
}
