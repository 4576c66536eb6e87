package disk

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/qemuimg"
)

func qemuImg(t *testing.T, args ...string) {
	t.Helper()
	if out, err := exec.Command("qemu-img", args...).CombinedOutput(); err != nil {
		t.Fatalf("qemu-img %v: %v\n%s", args, err, out)
	}
}

// hostSecret is a host file a malicious image names; the guest must never see its content.
func hostSecret(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "host-secret")
	if err := os.WriteFile(p, []byte("a host file the guest must not read\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// overwriteStart copies the image src over the first bytes of dst, as a guest writing to its raw
// disk can.
func overwriteStart(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func readRecord(t *testing.T, home, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(home, "_disks", name, FormatFile))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// TestRawDiskStaysRaw plays a guest that writes a qcow2 header naming a host file as its backing
// file into its raw disk: the disk's recorded format still says raw, so it is inspected, prepared
// and resized as raw, and the host file is never named to qemu-img or QEMU as a backing file.
func TestRawDiskStaysRaw(t *testing.T) {
	ctx, home := setup(t)
	if _, err := Create(ctx, "scratch", 8*mib, FormatRaw); err != nil {
		t.Fatal(err)
	}
	if got := readRecord(t, home, "scratch"); got != "raw\n" {
		t.Fatalf("format record after create: %q", got)
	}
	hdr := filepath.Join(t.TempDir(), "hdr.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-b", hostSecret(t), "-F", "raw", hdr)
	img := filepath.Join(home, "_disks", "scratch", DataDisk)
	overwriteStart(t, hdr, img)
	if f, _ := qemuimg.DetectFormat(img); f != "qcow2" {
		t.Fatalf("the guest's header does not look like qcow2 (%q); the test proves nothing", f)
	}

	for _, inspect := range []func() (*Disk, error){
		func() (*Disk, error) { return Inspect(ctx, "scratch") },
		func() (*Disk, error) { return Prepare(ctx, "scratch") },
	} {
		d, err := inspect()
		if err != nil {
			t.Fatal(err)
		}
		if d.Format != FormatRaw || d.Size != 8*mib {
			t.Fatalf("disk = %+v, want raw of 8 MiB", d)
		}
	}
	d, err := Resize(ctx, "scratch", 16*mib)
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := os.Stat(img); d.Format != FormatRaw || d.Size != 16*mib || st.Size() != 16*mib {
		t.Fatalf("after resize: %+v, file %d bytes; want a raw 16 MiB file", d, st.Size())
	}
}

// TestExternalFilesRefused: a qcow2 image with a backing file or a data file cannot be imported,
// and a disk whose image became one (replaced on the host) is refused by Prepare and Resize. The
// errors name the disk or file, the host file and the `qemu-img info` field.
func TestExternalFilesRefused(t *testing.T) {
	ctx, home := setup(t)
	src := t.TempDir()
	secret := hostSecret(t)
	backed := filepath.Join(src, "backed.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-b", secret, "-F", "raw", backed, "4M")
	dataFile := filepath.Join(src, "data.raw")
	withData := filepath.Join(src, "datafile.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-o", "data_file="+dataFile, withData, "4M")

	for _, tt := range []struct{ img, file, field string }{
		{backed, secret, "backing-filename"},
		{withData, dataFile, "format-specific.data.data-file"},
	} {
		check := func(what string, err error, names ...string) {
			t.Helper()
			if !errors.Is(err, qemuimg.ErrExternalFile) {
				t.Fatalf("%s of %s: error = %v, want ErrExternalFile", what, tt.img, err)
			}
			for _, s := range append(names, tt.file, tt.field) {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s: error %q does not name %q", what, err, s)
				}
			}
		}
		_, err := Import(ctx, "imported", tt.img)
		check("import", err, tt.img)
		if names, _ := Names(); len(names) != 0 {
			t.Fatalf("a refused import left disks: %v", names)
		}

		if _, err := Create(ctx, "replaced", 4*mib, FormatQCOW2); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(tt.img)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(home, "_disks", "replaced", DataDisk), b, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err = Prepare(ctx, "replaced")
		check("prepare", err, "`replaced`")
		_, err = Resize(ctx, "replaced", 8*mib)
		check("resize", err, "`replaced`")
		if err := Delete(ctx, "replaced", false); err != nil {
			t.Fatal(err)
		}
	}
}

// TestUnrecordedDisk: a disk made by Lima or an older limactl has no format record. Its format is
// read from its first bytes (not by qemu-img's probe), shown by Inspect without writing anything,
// and recorded by Prepare. A header that is neither qcow2 nor raw, or a broken record, is refused
// with the command that records the format.
func TestUnrecordedDisk(t *testing.T) {
	ctx, home := setup(t)
	mk := func(name string, args ...string) string {
		dir := filepath.Join(home, "_disks", name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		qemuImg(t, append(args, filepath.Join(dir, DataDisk), "4M")...)
		return dir
	}
	mk("oldq", "create", "-f", "qcow2")
	mk("oldr", "create", "-f", "raw")
	for name, want := range map[string]string{"oldq": FormatQCOW2, "oldr": FormatRaw} {
		if f, recorded, err := Format(name); err != nil || f != want || recorded {
			t.Fatalf("Format(%s) = %q, %v, %v; want %q, not recorded", name, f, recorded, err, want)
		}
		d, err := Inspect(ctx, name)
		if err != nil || d.Format != want || d.Size != 4*mib {
			t.Fatalf("Inspect(%s) = %+v, %v", name, d, err)
		}
		if got := readRecord(t, home, name); !strings.Contains(got, "no such file") {
			t.Fatalf("Inspect wrote a record for %s: %q", name, got)
		}
		if _, err := Prepare(ctx, name); err != nil {
			t.Fatal(err)
		}
		if got := readRecord(t, home, name); got != want+"\n" {
			t.Fatalf("record of %s after Prepare: %q, want %q", name, got, want)
		}
	}

	// An unrecorded raw disk into which the guest wrote a qcow2 header with a backing file: refused,
	// with the command that records it as raw; nothing is recorded.
	hdr := filepath.Join(t.TempDir(), "hdr.qcow2")
	qemuImg(t, "create", "-f", "qcow2", "-b", hostSecret(t), "-F", "raw", hdr)
	overwriteStart(t, hdr, filepath.Join(mk("oldguest", "create", "-f", "raw"), DataDisk))
	guestRecord := filepath.Join(home, "_disks", "oldguest", FormatFile)
	if _, err := Prepare(ctx, "oldguest"); !errors.Is(err, qemuimg.ErrExternalFile) || !strings.Contains(err.Error(), "echo raw > "+guestRecord) {
		t.Fatalf("an unrecorded disk with a guest-written backing file: %v", err)
	}
	if got := readRecord(t, home, "oldguest"); !strings.Contains(got, "no such file") {
		t.Fatalf("a refused disk got a record: %q", got)
	}
	if err := os.WriteFile(guestRecord, []byte("raw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := Prepare(ctx, "oldguest"); err != nil || d.Format != FormatRaw {
		t.Fatalf("after recording raw: %+v, %v", d, err)
	}

	dir := mk("oldvmdk", "create", "-f", "vmdk")
	record := filepath.Join(dir, FormatFile)
	if _, err := Inspect(ctx, "oldvmdk"); err == nil || !strings.Contains(err.Error(), "echo raw > "+record) {
		t.Fatalf("a disk with a vmdk header and no record: %v", err)
	}
	if err := os.WriteFile(record, []byte("vmdk\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(ctx, "oldvmdk"); err == nil || !strings.Contains(err.Error(), record) {
		t.Fatalf("a record saying vmdk: %v", err)
	}
	// The user records what the disk really is; it is then used as that, header or not.
	if err := os.WriteFile(record, []byte("raw"), 0o644); err != nil {
		t.Fatal(err)
	}
	if d, err := Prepare(ctx, "oldvmdk"); err != nil || d.Format != FormatRaw {
		t.Fatalf("after recording raw: %+v, %v", d, err)
	}
	// A disk whose format cannot be told is still deleted.
	if err := os.WriteFile(record, []byte("garbage"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Delete(ctx, "oldvmdk", false); err != nil {
		t.Fatal(err)
	}
}
