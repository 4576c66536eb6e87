package downloader

import (
	"bytes"
	"errors"
	"io"
	"os"

	"github.com/limactl/limactl/pkg/atomicfile"
)

// writeAtomic writes data to path with atomicfile.
func writeAtomic(path string, data []byte) error {
	return atomicfile.WriteFile(path, data, 0o644)
}

// writeIfChanged writes s (plus a newline) to path unless it already holds it.
func writeIfChanged(path, s string) error {
	if b, err := os.ReadFile(path); err == nil && string(bytes.TrimSpace(b)) == s {
		return nil
	}
	return writeAtomic(path, []byte(s+"\n"))
}

// writeFileAtomic creates path from what fill writes, with atomicfile: into a temporary file next
// to it, fsynced and renamed over path only when fill succeeds. On failure nothing is left behind.
func writeFileAtomic(path string, fill func(*os.File) error) error {
	f, err := atomicfile.Create(path, 0o644)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := fill(f.File); err != nil {
		return err
	}
	return f.Commit()
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func removeIfExists(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// sparseWriter writes to a file, seeking over blocks of zeros so decompressed raw disk images
// stay sparse. finish sets the final size.
type sparseWriter struct {
	f   *os.File
	off int64
}

const sparseBlock = 64 << 10

func (w *sparseWriter) Write(p []byte) (int, error) {
	n := 0
	for len(p) > 0 {
		chunk := p
		// Align chunks to sparseBlock so holes line up with filesystem blocks.
		if rem := sparseBlock - int(w.off%sparseBlock); len(chunk) > rem {
			chunk = chunk[:rem]
		}
		if allZero(chunk) {
			if _, err := w.f.Seek(int64(len(chunk)), io.SeekCurrent); err != nil {
				return n, err
			}
		} else if _, err := w.f.Write(chunk); err != nil {
			return n, err
		}
		w.off += int64(len(chunk))
		n += len(chunk)
		p = p[len(chunk):]
	}
	return n, nil
}

func (w *sparseWriter) finish() error { return w.f.Truncate(w.off) }

var zeroBlock [sparseBlock]byte

// allZero reports whether b (at most sparseBlock long) holds only zeros.
func allZero(b []byte) bool { return bytes.Equal(b, zeroBlock[:len(b)]) }
