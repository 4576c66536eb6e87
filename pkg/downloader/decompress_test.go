package downloader

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// compressWith runs a real compressor (gzip, bzip2, xz, zstd) over content.
func compressWith(t *testing.T, tool string, content []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath(tool); err != nil {
		t.Skipf("%s is not installed", tool)
	}
	in := filepath.Join(t.TempDir(), "raw")
	if err := os.WriteFile(in, content, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-c", "-q", in).Output()
	if err != nil {
		t.Fatalf("%s: %v", tool, err)
	}
	return out
}

func TestDecompression(t *testing.T) {
	content := testBytes(3<<20, 30)
	for _, tc := range []struct{ tool, ext string }{
		{"gzip", ".gz"}, {"bzip2", ".bz2"}, {"xz", ".xz"}, {"zstd", ".zst"}, {"zstd", ".zstd"},
	} {
		t.Run(tc.ext, func(t *testing.T) {
			compressed := compressWith(t, tc.tool, content)
			srv := newTestServer(t, map[string][]byte{"/disk.raw" + tc.ext: compressed, "/noext": compressed})
			for _, path := range []string{"/disk.raw" + tc.ext, "/noext"} {
				for _, cached := range []bool{true, false} {
					dst := filepath.Join(t.TempDir(), "image")
					opts := []Opt{WithDecompress(true), WithExpectedDigest(sha256Of(compressed))}
					if cached {
						opts = append(opts, WithCacheDir(t.TempDir()))
					}
					res, err := Download(context.Background(), dst, srv.URL+path, opts...)
					if err != nil {
						t.Fatalf("%s cached=%v: %v", path, cached, err)
					}
					if !res.ValidatedDigest {
						t.Errorf("%s: digest not validated", path)
					}
					mustEqualBytes(t, path, readFile(t, dst), content)
					if cached {
						mustEqualBytes(t, "cache keeps the compressed bytes", readFile(t, res.CachePath), compressed)
					}
				}
			}
			// A local compressed file is decompressed too; without WithDecompress it is copied as is.
			src := filepath.Join(t.TempDir(), "local"+tc.ext)
			if err := os.WriteFile(src, compressed, 0o644); err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(t.TempDir(), "image")
			if _, err := Download(context.Background(), dst, src, WithDecompress(true)); err != nil {
				t.Fatal(err)
			}
			mustEqualBytes(t, "local", readFile(t, dst), content)
			dst = filepath.Join(t.TempDir(), "image")
			if _, err := Download(context.Background(), dst, src); err != nil {
				t.Fatal(err)
			}
			mustEqualBytes(t, "local, no decompression", readFile(t, dst), compressed)
		})
	}
}

func TestSparseWriterKeepsSize(t *testing.T) {
	for _, lastByte := range []byte{1, 0} { // 0: the file ends in a hole
		content := make([]byte, 1<<20+17)
		content[len(content)-1] = lastByte
		content[100] = 2
		f, err := os.Create(filepath.Join(t.TempDir(), "out"))
		if err != nil {
			t.Fatal(err)
		}
		w := &sparseWriter{f: f}
		for i := 0; i < len(content); i += 1000 {
			if _, err := w.Write(content[i:min(i+1000, len(content))]); err != nil {
				t.Fatal(err)
			}
		}
		if err := errors.Join(w.finish(), f.Close()); err != nil {
			t.Fatal(err)
		}
		mustEqualBytes(t, "sparse file", readFile(t, f.Name()), content)
	}
}
