package iso9660

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sample has the cidata shapes: lowercase names with dashes, dots, nested directories, names that
// collide in 8.3, an empty file, a file spanning several sectors, and a directory with enough entries
// to need a second sector.
func sample() []File {
	files := []File{
		{Path: "meta-data", Data: []byte("instance-id: iid-1\nlocal-hostname: lima-test\n")},
		{Path: "user-data", Data: []byte("#cloud-config\n{}\n"), Mode: 0o400},
		{Path: "network-config", Data: []byte("version: 2\n")},
		{Path: "lima.env", Data: []byte("LIMA_CIDATA_USER=tester\n")},
		{Path: "boot.sh", Data: []byte("#!/bin/sh\necho hi\n"), Mode: 0o755},
		{Path: "boot.essential.Linux/05-etc-environment.sh", Data: []byte("#!/bin/sh\n"), Mode: 0o755},
		{Path: "boot.essential.Linux/05-etc-environmentX.sh", Data: []byte("#!/bin/sh\nx\n"), Mode: 0o755},
		{Path: "provision.data/00000000", Data: nil},
		{Path: "big/blob.bin", Data: bytes.Repeat([]byte("0123456789abcdef"), 1000)},
		{Path: "a/b/c/deep-File.Name.With.Dots.txt", Data: []byte("deep")},
		{Path: "emptydir", Mode: fs.ModeDir | 0o700},
	}
	for i := 0; i < 40; i++ {
		files = append(files, File{Path: fmt.Sprintf("boot.Linux/%02d-a-rather-long-script-name-number-%d.sh", i, i), Data: []byte(fmt.Sprintf("#!/bin/sh\necho %d\n", i)), Mode: 0o755})
	}
	return files
}

func writeSample(t *testing.T) (string, []File) {
	t.Helper()
	files := sample()
	var buf bytes.Buffer
	if err := Write(&buf, "cidata", files); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%sectorSize != 0 {
		t.Fatalf("image size %d is not a multiple of %d", buf.Len(), sectorSize)
	}
	p := filepath.Join(t.TempDir(), "cidata.iso")
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, files
}

type fileEntry struct {
	Path string
	Mode fs.FileMode
	Data string
}

func regularEntries(files []File) []fileEntry {
	var out []fileEntry
	for _, f := range files {
		if f.Mode.IsDir() {
			continue
		}
		m := f.Mode.Perm()
		if m == 0 {
			m = 0o444
		}
		out = append(out, fileEntry{f.Path, m, string(f.Data)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}

func TestRoundTripInGo(t *testing.T) {
	p, files := writeSample(t)
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	label, got, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if label != "cidata" {
		t.Errorf("label = %q, want cidata", label)
	}
	if d := cmp.Diff(regularEntries(files), regularEntries(got)); d != "" {
		t.Errorf("read back (-want +got):\n%s", d)
	}
}

func needIsoinfo(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("isoinfo"); err != nil {
		t.Skip("isoinfo not installed (apt-get install genisoimage)")
	}
}

// TestIsoinfoRockRidge checks the image with an independent reader: isoinfo lists the Rock Ridge
// names and modes, and extracts every file byte for byte.
func TestIsoinfoRockRidge(t *testing.T) {
	needIsoinfo(t)
	p, files := writeSample(t)

	out, err := exec.Command("isoinfo", "-d", "-i", p).CombinedOutput()
	if err != nil {
		t.Fatalf("isoinfo -d: %v\n%s", err, out)
	}
	for _, want := range []string{"Volume id: cidata", "Rock Ridge signatures version 1 found"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("isoinfo -d does not say %q:\n%s", want, out)
		}
	}

	out, err = exec.Command("isoinfo", "-R", "-l", "-i", p).CombinedOutput()
	if err != nil {
		t.Fatalf("isoinfo -R -l: %v\n%s", err, out)
	}
	listing := string(out)
	for _, want := range []string{
		"-r--------   1    0    0              17", // user-data is 0400
		" user-data ",
		" meta-data ",
		" network-config ",
		"-rwxr-xr-x   1    0    0",
		" 05-etc-environment.sh ",
		" 05-etc-environmentX.sh ",
		"Directory listing of /boot.essential.Linux/",
		"Directory listing of /a/b/c/",
		" deep-File.Name.With.Dots.txt ",
		"Directory listing of /emptydir/",
		"drwx------",
	} {
		if !strings.Contains(listing, want) {
			t.Errorf("isoinfo -R -l does not show %q:\n%s", want, listing)
		}
	}

	for _, f := range regularEntries(files) {
		got, err := exec.Command("isoinfo", "-R", "-i", p, "-x", "/"+f.Path).Output()
		if err != nil {
			t.Fatalf("isoinfo -x /%s: %v", f.Path, err)
		}
		if string(got) != f.Data {
			t.Errorf("isoinfo -x /%s: got %d bytes, want %d", f.Path, len(got), len(f.Data))
		}
	}
}

// TestPlainNamesAreValid checks the ISO 9660 level of the image: without Rock Ridge the names are
// upper-case 8.3 identifiers with ;1, unique within their directory.
func TestPlainNamesAreValid(t *testing.T) {
	needIsoinfo(t)
	p, _ := writeSample(t)
	out, err := exec.Command("isoinfo", "-l", "-i", p).CombinedOutput()
	if err != nil {
		t.Fatalf("isoinfo -l: %v\n%s", err, out)
	}
	for _, want := range []string{" USER_DAT.;1", " META_DAT.;1", " NETWORK_.;1", " LIMA.ENV;1", " 05_ETC_E.SH;1", " 05_ETC_1.SH;1", "Directory listing of /BOOT_ESS/"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("isoinfo -l does not show %q:\n%s", want, out)
		}
	}
}

func TestWriteRejects(t *testing.T) {
	for _, tc := range []struct {
		name  string
		label string
		files []File
	}{
		{"absolute", "cidata", []File{{Path: "/etc/passwd"}}},
		{"dotdot", "cidata", []File{{Path: "a/../../b"}}},
		{"unclean", "cidata", []File{{Path: "a//b"}}},
		{"duplicate", "cidata", []File{{Path: "a"}, {Path: "a"}}},
		{"file-and-dir", "cidata", []File{{Path: "a"}, {Path: "a/b"}}},
		{"long-name", "cidata", []File{{Path: strings.Repeat("x", maxNameLen+1)}}},
		{"long-label", strings.Repeat("L", 33), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := Write(&bytes.Buffer{}, tc.label, tc.files); err == nil {
				t.Error("Write succeeded, want an error")
			}
		})
	}
}

func TestLongestNameFits(t *testing.T) {
	name := strings.Repeat("n", maxNameLen)
	var buf bytes.Buffer
	if err := Write(&buf, "cidata", []File{{Path: name, Data: []byte("x")}}); err != nil {
		t.Fatal(err)
	}
	_, got, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Path != name {
		t.Errorf("got %+v", got)
	}
}

// TestBsdtar reads the image with libarchive, a streaming reader that is strict about where Rock
// Ridge continuation areas may lie.
func TestBsdtar(t *testing.T) {
	if _, err := exec.LookPath("bsdtar"); err != nil {
		t.Skip("bsdtar not installed (apt-get install libarchive-tools)")
	}
	p, files := writeSample(t)
	dir := t.TempDir()
	if out, err := exec.Command("bsdtar", "-xf", p, "-C", dir).CombinedOutput(); err != nil {
		t.Fatalf("bsdtar -x: %v\n%s", err, out)
	}
	for _, f := range regularEntries(files) {
		st, err := os.Stat(filepath.Join(dir, f.Path))
		if err != nil {
			t.Error(err)
			continue
		}
		if st.Mode().Perm() != f.Mode {
			t.Errorf("%s: mode %o, want %o", f.Path, st.Mode().Perm(), f.Mode)
		}
		got, err := os.ReadFile(filepath.Join(dir, f.Path))
		if err != nil || string(got) != f.Data {
			t.Errorf("%s: content differs (%v)", f.Path, err)
		}
	}
}

// TestBlkidLabel checks what cloud-init's NoCloud looks for: blkid reports TYPE="iso9660" and
// LABEL="cidata".
func TestBlkidLabel(t *testing.T) {
	if _, err := exec.LookPath("blkid"); err != nil {
		t.Skip("blkid not installed")
	}
	p, _ := writeSample(t)
	out, err := exec.Command("blkid", "-p", "-o", "export", p).CombinedOutput()
	if err != nil {
		t.Fatalf("blkid: %v\n%s", err, out)
	}
	for _, want := range []string{"LABEL=cidata\n", "TYPE=iso9660\n"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("blkid does not report %q:\n%s", want, out)
		}
	}
}

func TestSourceFile(t *testing.T) {
	big := bytes.Repeat([]byte("nerdctl!"), 300_000) // 2.4 MB, not a multiple of the sector size
	big = append(big, 'x')
	src := filepath.Join(t.TempDir(), "nerdctl-full.tgz")
	if err := os.WriteFile(src, big, 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, "cidata", []File{{Path: "nerdctl-full.tgz", Source: src}, {Path: "after", Data: []byte("after")}}); err != nil {
		t.Fatal(err)
	}
	_, got, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"nerdctl-full.tgz": string(big), "after": "after"}
	for _, f := range got {
		if string(f.Data) != want[f.Path] {
			t.Errorf("%s: %d bytes, want %d", f.Path, len(f.Data), len(want[f.Path]))
		}
		delete(want, f.Path)
	}
	if len(want) > 0 {
		t.Errorf("missing: %v", want)
	}
	if err := Write(&bytes.Buffer{}, "cidata", []File{{Path: "x", Source: filepath.Join(t.TempDir(), "missing")}}); err == nil {
		t.Error("Write accepted a missing source file")
	}
}

// TestReadGenisoimage reads an image made by genisoimage -R, to check the reader against an
// independent writer (its Rock Ridge uses continuation areas and RRIP 1.12 PX entries).
func TestReadGenisoimage(t *testing.T) {
	if _, err := exec.LookPath("genisoimage"); err != nil {
		t.Skip("genisoimage not installed")
	}
	src := t.TempDir()
	want := map[string]string{
		"user-data":                     "#cloud-config\n",
		"meta-data":                     "instance-id: iid-1\n",
		"boot.essential.Linux/05-a.sh":  "#!/bin/sh\n",
		"provision.system/00000000":     "true\n",
		"a-long-name-with-many.dots.in": strings.Repeat("z", 5000),
	}
	for p, c := range want {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, p), []byte(c), 0o640); err != nil {
			t.Fatal(err)
		}
	}
	iso := filepath.Join(t.TempDir(), "g.iso")
	if out, err := exec.Command("genisoimage", "-quiet", "-R", "-V", "cidata", "-o", iso, src).CombinedOutput(); err != nil {
		t.Fatalf("genisoimage: %v\n%s", err, out)
	}
	f, err := os.Open(iso)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	label, files, err := Read(f)
	if err != nil {
		t.Fatal(err)
	}
	if label != "cidata" {
		t.Errorf("label %q", label)
	}
	got := map[string]string{}
	for _, f := range files {
		got[f.Path] = string(f.Data)
		if f.Mode != 0o640 {
			t.Errorf("%s: mode %o, want 640", f.Path, f.Mode)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("(-want +got):\n%s", d)
	}
}

func TestEmptyImage(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, "cidata", nil); err != nil {
		t.Fatal(err)
	}
	label, files, err := Read(bytes.NewReader(buf.Bytes()))
	if err != nil || label != "cidata" || len(files) != 0 {
		t.Errorf("Read = %q, %v, %v", label, files, err)
	}
	if _, err := exec.LookPath("isoinfo"); err == nil {
		p := filepath.Join(t.TempDir(), "empty.iso")
		if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if out, err := exec.Command("isoinfo", "-R", "-l", "-i", p).CombinedOutput(); err != nil {
			t.Errorf("isoinfo: %v\n%s", err, out)
		}
	}
}
