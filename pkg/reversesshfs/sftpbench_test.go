package reversesshfs

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/sftp"
)

// BenchmarkRead64MiB reads a 64 MiB file through the server with pkg/sftp's client over an
// in-memory pipe: "concurrent" with the client's pipelined reads (64 requests of 32 KiB in
// flight, as sshfs keeps several), "sequential" one 32 KiB request at a time (the round trip).
// docs/performance.md has the figures.
func BenchmarkRead64MiB(b *testing.B) {
	root := b.TempDir()
	const size = 64 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(filepath.Join(root, "big"), data, 0o644); err != nil {
		b.Fatal(err)
	}
	conn := pipeServer(b, root, true)
	cl, err := sftp.NewClientPipe(conn, conn)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	run := func(b *testing.B, read func(f *sftp.File) (int64, error)) {
		b.SetBytes(size)
		for b.Loop() {
			f, err := cl.Open(filepath.Join(root, "big"))
			if err != nil {
				b.Fatal(err)
			}
			n, err := read(f)
			_ = f.Close()
			if err != nil || n != size {
				b.Fatalf("read %d bytes: %v", n, err)
			}
		}
	}
	b.Run("concurrent", func(b *testing.B) {
		run(b, func(f *sftp.File) (int64, error) { return f.WriteTo(io.Discard) })
	})
	b.Run("sequential", func(b *testing.B) {
		buf := make([]byte, 32<<10)
		run(b, func(f *sftp.File) (int64, error) {
			var n int64
			for {
				m, err := f.Read(buf)
				n += int64(m)
				if errors.Is(err, io.EOF) {
					return n, nil
				}
				if err != nil {
					return n, err
				}
			}
		})
	})
}
