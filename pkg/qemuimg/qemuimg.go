// Package qemuimg runs the qemu-img tool: the one wrapper that the qemu driver (boot disks,
// offline snapshots) and pkg/disk (additional disks) share.
//
// qemu-img is never left to guess a format. A guest can write anything into a raw disk, a qcow2
// header naming a host file as its backing file included, and a probe would then open that file on
// the guest's behalf (Lima's CVE-2023-32684). So GetInfo takes the format, a file whose format is not
// known yet goes through DetectFormat (magic bytes, read here, never by qemu-img), and an image
// that refers to another file is refused with RefuseExternalFiles.
package qemuimg

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// ErrNotInstalled is returned (wrapped) when the qemu-img binary is not on PATH.
var ErrNotInstalled = errors.New("qemu-img is not installed; install qemu-utils (Debian/Ubuntu), qemu-img (Fedora) or qemu (Homebrew)")

// ErrExternalFile is wrapped when an image refers to a file other than itself: a backing file, a
// qcow2 data file, a VMDK extent. QEMU would open that file on the guest's behalf.
var ErrExternalFile = errors.New("the image refers to another file")

// Run runs qemu-img with args and returns its stdout. A failure carries qemu-img's stderr.
func Run(ctx context.Context, args ...string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, "qemu-img", args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, ErrNotInstalled
		}
		return out, fmt.Errorf("qemu-img %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return out, nil
}

// Info is the part of `qemu-img info --output=json` limactl reads.
type Info struct {
	Filename    string `json:"filename"`
	Format      string `json:"format"`
	VirtualSize int64  `json:"virtual-size"`
	// BackingFile is the backing file as the image names it, FullBackingFile the same resolved
	// against the image's directory, BackingFormat the format stored with it (`qemu-img create -F`).
	BackingFile     string         `json:"backing-filename,omitempty"`
	FullBackingFile string         `json:"full-backing-filename,omitempty"`
	BackingFormat   string         `json:"backing-filename-format,omitempty"`
	FormatSpecific  FormatSpecific `json:"format-specific"`
}

// FormatSpecific is the `format-specific` object of `qemu-img info --output=json`.
type FormatSpecific struct {
	Type string `json:"type"`
	Data struct {
		// DataFile is a qcow2 image's external data file (`qemu-img create -o data_file=...`).
		DataFile string `json:"data-file,omitempty"`
		// Extents are a VMDK image's extent files.
		Extents []Extent `json:"extents,omitempty"`
	} `json:"data"`
}

// Extent is one extent of a VMDK image.
type Extent struct {
	Filename string `json:"filename"`
}

// GetInfo runs `qemu-img info -f FORMAT --output=json` on path. format must be given: qemu-img
// does not guess it. With forceShare (-U) it reads the header of an image that a running QEMU holds
// open (and locked). qemu-img info opens neither backing files nor data files.
func GetInfo(ctx context.Context, path, format string, forceShare bool) (*Info, error) {
	if format == "" {
		return nil, fmt.Errorf("qemu-img info %s: no format given, and qemu-img must not guess one", path)
	}
	args := []string{"info", "-f", format, "--output=json"}
	if forceShare {
		args = append(args, "-U")
	}
	out, err := Run(ctx, append(args, path)...)
	if err != nil {
		return nil, err
	}
	var info Info
	if err := json.Unmarshal(out, &info); err != nil {
		return nil, fmt.Errorf("parsing `qemu-img info` of %s: %w", path, err)
	}
	return &info, nil
}

// ExternalFile returns the first file other than the image itself that info says the image reads,
// with the `qemu-img info --output=json` field that names it; "", "" when there is none.
func (info *Info) ExternalFile() (field, file string) {
	switch {
	case info.BackingFile != "":
		return "backing-filename", info.BackingFile
	case info.FullBackingFile != "":
		return "full-backing-filename", info.FullBackingFile
	case info.FormatSpecific.Data.DataFile != "":
		return "format-specific.data.data-file", info.FormatSpecific.Data.DataFile
	}
	for _, e := range info.FormatSpecific.Data.Extents {
		if e.Filename != info.Filename {
			return "format-specific.data.extents.filename", e.Filename
		}
	}
	return "", ""
}

// RefuseExternalFiles returns an error wrapping ErrExternalFile, naming path, the file and the field,
// when info (of path) refers to another file; nil otherwise.
func RefuseExternalFiles(path string, info *Info) error {
	field, file := info.ExternalFile()
	if field == "" {
		return nil
	}
	return fmt.Errorf("%s refers to the file %q (%s in `qemu-img info`), which QEMU would open on the guest's behalf; "+
		"images with backing or data files are refused; if you trust the image, flatten it with `qemu-img convert -f %s -O qcow2 %s FLAT.qcow2`: %w",
		path, file, field, info.Format, path, ErrExternalFile)
}

// DetectFormat names the format of the image at path from its magic bytes, read here and never by
// qemu-img: "qcow2", "raw", or the qemu-img name of another format it recognizes ("qcow", "qed",
// "vmdk", "vhdx", "vpc", "vdi", "luks", "parallels"). Anything else is raw, and raw is always safe
// to pass to QEMU: it names no other file.
func DetectFormat(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	head := make([]byte, 0x44)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return "", err
	}
	return formatOf(head[:n]), nil
}

// formatOf is DetectFormat on the first bytes of an image.
func formatOf(head []byte) string {
	has := func(magic string) bool { return bytes.HasPrefix(head, []byte(magic)) }
	switch {
	case has("QFI\xfb") && len(head) >= 8:
		if binary.BigEndian.Uint32(head[4:8]) == 1 {
			return "qcow"
		}
		return "qcow2"
	case has("QED\x00"):
		return "qed"
	case has("KDMV"), has("COWD"), has("# Disk DescriptorFile"):
		return "vmdk"
	case has("vhdxfile"):
		return "vhdx"
	case has("conectix"):
		return "vpc"
	case has("LUKS\xba\xbe"):
		return "luks"
	case has("WithoutFreeSpace"), has("WithouFreSpacExt"):
		return "parallels"
	case len(head) >= 0x44 && binary.LittleEndian.Uint32(head[0x40:0x44]) == 0xbeda107f:
		return "vdi"
	}
	return "raw"
}

// ImageOpts is the --image-opts spelling of path opened as format, for the qemu-img commands that
// have no -f (snapshot). Commas in path are doubled, as QEMU's option syntax needs.
func ImageOpts(format, path string) string {
	return "driver=" + format + ",file.filename=" + strings.ReplaceAll(path, ",", ",,")
}
