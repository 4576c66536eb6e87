package disk

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/qemuimg"
)

// The format of a disk is recorded when the disk is made (Create, Import), in the file FormatFile
// of its directory ("qcow2" or "raw" and a newline), and every later use passes that format to
// QEMU and qemu-img. The image is never asked: the guest writes it, and a raw disk whose guest
// wrote a qcow2 header into it stays raw. Lima does not write this file and ignores it.
//
// A disk made by Lima or by an older limactl has no record. Its format is then read from its first
// bytes by qemuimg.DetectFormat (never by qemu-img's probe), shown as such by Inspect, and recorded
// by Prepare, with a warning, at its first use: the first start of an instance that attaches it, or
// a resize. A disk whose header is neither qcow2 nor raw is refused until its format is recorded by
// hand, and a qcow2 header that names another file is refused by Prepare whatever the record says.

// FormatFile is the file in a disk's directory that records the disk's format (limactl only).
const FormatFile = "format"

// Format returns the format of disk name: its record, or (recorded false) for a disk without one,
// what its first bytes say. It never runs qemu-img.
func Format(name string) (format string, recorded bool, err error) {
	dir, err := Path(name)
	if err != nil {
		return "", false, err
	}
	record := filepath.Join(dir, FormatFile)
	b, err := os.ReadFile(record)
	switch {
	case err == nil:
		format = strings.TrimSpace(string(b))
		if ValidateFormat(format) != nil {
			return "", false, fmt.Errorf("disk %#q: %s says %q, not %q or %q; write the format the disk was created with into it (`echo raw > %s`)",
				name, record, format, FormatQCOW2, FormatRaw, record)
		}
		return format, true, nil
	case !errors.Is(err, fs.ErrNotExist):
		return "", false, fmt.Errorf("disk %#q: %w", name, err)
	}
	format, err = qemuimg.DetectFormat(filepath.Join(dir, DataDisk))
	if err != nil {
		return "", false, fmt.Errorf("disk %#q: %w", name, err)
	}
	if ValidateFormat(format) != nil {
		return "", false, fmt.Errorf("disk %#q has no format record (%s), and its image starts with a %s header, which a disk cannot have; "+
			"if the disk was created raw (and the guest wrote that header), record it with `echo raw > %s`; otherwise convert it to qcow2 and import it again",
			name, record, format, record)
	}
	return format, false, nil
}

// writeFormat records format in the disk directory dir.
func writeFormat(dir, format string) error {
	return atomicfile.WriteFile(filepath.Join(dir, FormatFile), []byte(format+"\n"), 0o644)
}

// Prepare inspects disk name for a use that opens its image (an instance attaching it, a resize).
// It refuses an image that refers to another file (a qcow2 backing or data file; the error wraps
// qemuimg.ErrExternalFile and names the file and the `qemu-img info` field), and records the
// format of a disk that has no record yet, with a warning.
func Prepare(ctx context.Context, name string) (*Disk, error) {
	d, info, recorded, err := inspect(ctx, name)
	if err != nil {
		return nil, err
	}
	if info != nil {
		if err := qemuimg.RefuseExternalFiles(filepath.Join(d.Dir, DataDisk), info); err != nil {
			if !recorded {
				return nil, fmt.Errorf("disk %#q (no format record; if it was created raw and the guest wrote this header, record it with `echo raw > %s`): %w",
					name, filepath.Join(d.Dir, FormatFile), err)
			}
			return nil, fmt.Errorf("disk %#q: %w", name, err)
		}
	}
	if !recorded {
		record := filepath.Join(d.Dir, FormatFile)
		logrus.Warnf("Disk %#q has no format record (it was made by Lima or an older limactl); its header says %s, recorded in %s. "+
			"If the disk was created with another format, write that one into %s", name, d.Format, record, record)
		if err := writeFormat(d.Dir, d.Format); err != nil {
			return nil, fmt.Errorf("disk %#q: %w", name, err)
		}
	}
	return d, nil
}
