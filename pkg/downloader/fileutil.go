package downloader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// writeAtomic writes data to path through a temporary file and a rename.
func writeAtomic(path string, data []byte) error {
	return writeFileAtomic(path, func(f *os.File) error {
		_, err := f.Write(data)
		return err
	})
}

// writeIfChanged writes s (plus a newline) to path unless it already holds it.
func writeIfChanged(path, s string) error {
	if b, err := os.ReadFile(path); err == nil && string(bytes.TrimSpace(b)) == s {
		return nil
	}
	return writeAtomic(path, []byte(s+"\n"))
}

// writeFileAtomic creates path from what fill writes: into a temporary file next to it, renamed
// over path only when fill succeeds. On failure nothing is left behind.
func writeFileAtomic(path string, fill func(*os.File) error) (err error) {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot create a file in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = fill(f); err != nil {
		return err
	}
	if err = f.Chmod(0o644); err != nil {
		return err
	}
	if err = f.Close(); err != nil {
		return err
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("cannot put %s in place: %w", path, err)
	}
	return nil
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
