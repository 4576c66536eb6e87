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

// BenchmarkCacheHit is what a start costs when the image is already cached: Download with the
// cache and a digest (checked against the stored .digest file, not rehashed) copies the cached
// 256 MiB to the instance. "copy-baseline" is a plain file copy of the same bytes in the same
// run, the floor for an instance that keeps its own copy of the image; "cache-hit-no-digest" adds
// the revalidation request a template without a digest makes.
func BenchmarkCacheHit(b *testing.B) {
	const size = 256 << 20
	content := testBytes(size, 7)
	srv := newTestServer(b, map[string][]byte{"/img": content})
	digest := sha256Of(content)
	cache := filepath.Join(b.TempDir(), "cache")
	for _, o := range [][]Opt{{WithExpectedDigest(digest)}, nil} {
		if _, err := Download(context.Background(), "", srv.URL+"/img", append(o, WithCacheDir(cache))...); err != nil {
			b.Fatal(err)
		}
	}
	src := filepath.Join(entryFor(cache, srv.URL+"/img").dir, fileData)
	for _, tc := range []struct {
		name string
		run  func(dst string) error
	}{
		{"copy-baseline", func(dst string) error { return cloneOrCopy(context.Background(), src, dst) }},
		{"cache-hit", func(dst string) error {
			res, err := Download(context.Background(), dst, srv.URL+"/img", WithCacheDir(cache), WithExpectedDigest(digest))
			if err == nil && res.Status != StatusUsedCache {
				err = fmt.Errorf("status %v, want a cache hit", res.Status)
			}
			return err
		}},
		{"cache-hit-no-digest", func(dst string) error {
			res, err := Download(context.Background(), dst, srv.URL+"/img", WithCacheDir(cache))
			if err == nil && res.Status != StatusUsedCache {
				err = fmt.Errorf("status %v, want a cache hit", res.Status)
			}
			return err
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			b.SetBytes(size)
			dir := b.TempDir()
			for i := 0; b.Loop(); i++ {
				dst := filepath.Join(dir, fmt.Sprintf("image%d", i))
				if err := tc.run(dst); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = os.Remove(dst)
				b.StartTimer()
			}
		})
	}
}
