package pipe

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"testing/iotest"
)

// chunkReader returns at most max bytes per Read and records the sizes asked for.
type chunkReader struct {
	r     io.Reader
	max   int
	asked []int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	c.asked = append(c.asked, len(p))
	if len(p) > c.max {
		p = p[:c.max]
	}
	return c.r.Read(p)
}

func TestCopy(t *testing.T) {
	data := make([]byte, 3<<20+17)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	for _, tt := range []struct {
		name    string
		max     int
		wantBuf int // the largest buffer it should have read into
	}{
		{"bulk", 1 << 30, bulkBuffer},
		{"trickle", 1000, smallBuffer},
		{"one byte", 1, smallBuffer},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src := &chunkReader{r: bytes.NewReader(data), max: tt.max}
			var dst bytes.Buffer
			n, err := Copy(&dst, src)
			if err != nil || n != int64(len(data)) || !bytes.Equal(dst.Bytes(), data) {
				t.Fatalf("Copy = %d, %v; copied equal: %v", n, err, bytes.Equal(dst.Bytes(), data))
			}
			if got := slices.Max(src.asked); got != tt.wantBuf {
				t.Errorf("largest read %d, want %d", got, tt.wantBuf)
			}
		})
	}
}

// scriptReader returns reads of the given sizes, in order, then EOF, and records the buffer
// sizes it was handed.
type scriptReader struct {
	sizes []int
	asked []int
}

func (r *scriptReader) Read(p []byte) (int, error) {
	r.asked = append(r.asked, len(p))
	if len(r.sizes) == 0 {
		return 0, io.EOF
	}
	n := min(r.sizes[0], len(p))
	r.sizes = r.sizes[1:]
	return n, nil
}

// TestCopyBufferSwitch: the large buffer only after two full small reads, and given back after a
// short read (a connection that waits after a burst holds 32 KiB).
func TestCopyBufferSwitch(t *testing.T) {
	S, B := smallBuffer, bulkBuffer
	r := &scriptReader{sizes: []int{S, 100, S, S, B, B, 1000, S, 10}}
	if _, err := Copy(io.Discard, r); err != nil {
		t.Fatal(err)
	}
	want := []int{S, S, S, S, B, B, B, S, S, S}
	if !slices.Equal(r.asked, want) {
		t.Errorf("buffer sizes %v, want %v", r.asked, want)
	}
}

func TestCopyErrors(t *testing.T) {
	boom := errBoom
	var dst bytes.Buffer
	if n, err := Copy(&dst, io.MultiReader(bytes.NewReader([]byte("abc")), iotest.ErrReader(boom))); n != 3 || !errors.Is(err, boom) {
		t.Errorf("read error: Copy = %d, %v; want 3, boom", n, err)
	}
	if n, err := Copy(failWriter{}, bytes.NewReader([]byte("abc"))); n != 1 || !errors.Is(err, boom) {
		t.Errorf("write error: Copy = %d, %v; want 1, boom", n, err)
	}
	if n, err := Copy(shortWriter{}, bytes.NewReader([]byte("abc"))); n != 1 || !errors.Is(err, io.ErrShortWrite) {
		t.Errorf("short write: Copy = %d, %v; want 1, short write", n, err)
	}
	// Data returned with EOF is written.
	dst.Reset()
	if n, err := Copy(&dst, iotest.DataErrReader(bytes.NewReader([]byte("xyz")))); n != 3 || err != nil || dst.String() != "xyz" {
		t.Errorf("data with EOF: Copy = %d, %v, %q", n, err, dst.String())
	}
}

type failWriter struct{}

var errBoom = errors.New("boom")

func (failWriter) Write(p []byte) (int, error) { return 1, errBoom }

type shortWriter struct{}

func (shortWriter) Write(p []byte) (int, error) { return 1, nil }

// BenchmarkCopyTCP moves 64 MiB over loopback TCP per op with io.Copy and with Copy.
func BenchmarkCopyTCP(b *testing.B) {
	for _, c := range []struct {
		name string
		copy func(io.Writer, io.Reader) (int64, error)
	}{
		{"io.Copy", func(w io.Writer, r io.Reader) (int64, error) { return io.Copy(writerOnly{w}, readerOnly{r}) }},
		{"pipe.Copy", Copy},
	} {
		b.Run(c.name, func(b *testing.B) {
			const size = 64 << 20
			b.SetBytes(size)
			for b.Loop() {
				benchTransfer(b, size, c.copy)
			}
		})
	}
}

type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

// benchTransfer sends size bytes from a writer through copy (TCP in, TCP out) to a sink.
func benchTransfer(b *testing.B, size int, copyFn func(io.Writer, io.Reader) (int64, error)) {
	in, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer out.Close()
	go func() {
		c, err := net.Dial("tcp", in.Addr().String())
		if err != nil {
			return
		}
		buf := make([]byte, 1<<20)
		for left := size; left > 0; left -= len(buf) {
			if _, err := c.Write(buf[:min(left, len(buf))]); err != nil {
				break
			}
		}
		c.Close()
	}()
	done := make(chan int64)
	go func() {
		c, err := out.Accept()
		if err != nil {
			done <- 0
			return
		}
		n, _ := io.Copy(io.Discard, c)
		c.Close()
		done <- n
	}()
	src, err := in.Accept()
	if err != nil {
		b.Fatal(err)
	}
	defer src.Close()
	dst, err := net.Dial("tcp", out.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := copyFn(dst, src); err != nil {
		b.Fatal(err)
	}
	dst.Close()
	if n := <-done; n != int64(size) {
		b.Fatalf("moved %d bytes, want %d", n, size)
	}
}
