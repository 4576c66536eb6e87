package downloader

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkDownloadLoopback fetches 256 MiB over loopback HTTP into a fresh cache and instance
// path each time, with and without a sha256 digest. Compare with curl through
// hack/bench/download-bench.sh.
func BenchmarkDownloadLoopback(b *testing.B) {
	const size = 256 << 20
	content := testBytes(size, 99)
	srv := newTestServer(b, map[string][]byte{"/img": content})
	digest := sha256Of(content)
	for _, tc := range []struct {
		name string
		opts func(cache string) []Opt
	}{
		{"direct", func(string) []Opt { return nil }},
		{"direct+sha256", func(string) []Opt { return []Opt{WithExpectedDigest(digest)} }},
		{"cache+sha256", func(cache string) []Opt { return []Opt{WithCacheDir(cache), WithExpectedDigest(digest)} }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; b.Loop(); i++ {
				dir := b.TempDir()
				dst := filepath.Join(dir, fmt.Sprintf("image%d", i))
				if _, err := Download(context.Background(), dst, srv.URL+"/img", tc.opts(filepath.Join(dir, "cache"))...); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = os.RemoveAll(dir)
				b.StartTimer()
			}
		})
	}
}
