package downloader

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func mustEqualBytes(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %d bytes, want %d bytes (content differs)", what, len(got), len(want))
	}
}

func TestDownloadWithDigest(t *testing.T) {
	content := testBytes(3<<20, 1)
	srv := newTestServer(t, map[string][]byte{"/img.qcow2": content})
	cache, dir := t.TempDir(), t.TempDir()
	url := srv.URL + "/img.qcow2"
	dst := filepath.Join(dir, "image")
	res, err := Download(context.Background(), dst, url, WithCacheDir(cache), WithExpectedDigest(sha256Of(content)))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusDownloaded || !res.ValidatedDigest || res.ContentType != "application/octet-stream" || !res.LastModified.Equal(srv.modTime) {
		t.Fatalf("unexpected result %+v", res)
	}
	mustEqualBytes(t, "image", readFile(t, dst), content)
	e := entryFor(cache, url)
	if res.CachePath != e.path(fileData) {
		t.Errorf("CachePath = %s, want %s", res.CachePath, e.path(fileData))
	}
	for name, want := range map[string]string{
		fileURL: url + "\n", "sha256.digest": sha256Of(content) + "\n", fileType: "application/octet-stream\n",
		fileTime: srv.modTime.Format(http1123) + "\n",
	} {
		if diff := cmp.Diff(want, string(readFile(t, e.path(name)))); diff != "" {
			t.Errorf("cache file %s (-want +got):\n%s", name, diff)
		}
	}
	// An existing local path is left alone.
	res, err = Download(context.Background(), dst, url, WithCacheDir(cache))
	if err != nil || res.Status != StatusSkipped {
		t.Fatalf("second download: %+v, %v", res, err)
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"

func TestDownloadDigestMismatchKeepsNothing(t *testing.T) {
	content := testBytes(1<<20, 2)
	srv := newTestServer(t, map[string][]byte{"/img.qcow2": content})
	wrong := sha256Of([]byte("something else"))
	for _, cached := range []bool{true, false} {
		cache, dir := t.TempDir(), t.TempDir()
		dst := filepath.Join(dir, "image")
		opts := []Opt{WithExpectedDigest(wrong)}
		if cached {
			opts = append(opts, WithCacheDir(cache))
		}
		_, err := Download(context.Background(), dst, srv.URL+"/img.qcow2", opts...)
		if !errors.Is(err, ErrDigestMismatch) {
			t.Fatalf("cached=%v: want a digest mismatch, got %v", cached, err)
		}
		for _, want := range []string{"expected " + wrong, "got " + sha256Of(content), "not kept"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if left := listFiles(t, dir); len(left) != 0 {
			t.Errorf("cached=%v: files left at the destination: %v", cached, left)
		}
		for _, f := range listFiles(t, cache) {
			if base := filepath.Base(f); base != fileURL && base != fileLock {
				t.Errorf("cached=%v: file left in the cache: %s", cached, f)
			}
		}
		if _, err := Cached(srv.URL+"/img.qcow2", WithCacheDir(cache)); !errors.Is(err, ErrNotCached) {
			t.Errorf("Cached after a mismatch: %v", err)
		}
	}
}

func listFiles(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestCacheHitWithDigestNeedsNoServer(t *testing.T) {
	content := testBytes(1<<20, 3)
	srv := newTestServer(t, map[string][]byte{"/img.qcow2": content})
	cache := t.TempDir()
	url := srv.URL + "/img.qcow2"
	digest := sha256Of(content)
	if _, err := Download(context.Background(), "", url, WithCacheDir(cache), WithExpectedDigest(digest)); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	dst := filepath.Join(t.TempDir(), "image")
	res, err := Download(context.Background(), dst, url, WithCacheDir(cache), WithExpectedDigest(digest))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusUsedCache || !res.ValidatedDigest {
		t.Fatalf("want a validated cache hit, got %+v", res)
	}
	mustEqualBytes(t, "image", readFile(t, dst), content)
	// The stored digest file is trusted while the data keeps the size and mtime it had when it was
	// verified: the data is not rehashed (prove it by corrupting it and putting the mtime back).
	st, err := os.Stat(res.CachePath)
	if err != nil {
		t.Fatal(err)
	}
	corruptByte(t, res.CachePath, 1000)
	if err := os.Chtimes(res.CachePath, st.ModTime(), st.ModTime()); err != nil {
		t.Fatal(err)
	}
	if _, err := Cached(url, WithCacheDir(cache), WithExpectedDigest(digest)); err != nil {
		t.Fatalf("Cached with the stored digest: %v", err)
	}
	corruptByte(t, res.CachePath, 1000) // undo
	// Without a server, a digest-less lookup still uses the cache (with a warning).
	dst2 := filepath.Join(t.TempDir(), "image")
	res, err = Download(context.Background(), dst2, url, WithCacheDir(cache))
	if err != nil || res.Status != StatusUsedCache {
		t.Fatalf("digest-less download with the server gone: %+v, %v", res, err)
	}
}

func TestDigestlessEntryIsRevalidated(t *testing.T) {
	v1, v2 := testBytes(256<<10, 4), testBytes(256<<10, 5)
	srv := newTestServer(t, map[string][]byte{"/img": v1})
	cache := t.TempDir()
	url := srv.URL + "/img"
	get := func() (*Result, []byte) {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "image")
		res, err := Download(context.Background(), dst, url, WithCacheDir(cache))
		if err != nil {
			t.Fatal(err)
		}
		return res, readFile(t, dst)
	}
	_, got := get()
	mustEqualBytes(t, "first", got, v1)
	res, got := get()
	if res.Status != StatusUsedCache {
		t.Fatalf("unchanged file: want the cache, got %s", res.Status)
	}
	mustEqualBytes(t, "cached", got, v1)
	if n, _ := srv.stats(); n != 1 {
		t.Fatalf("an unchanged file was fetched %d times, want 1", n)
	}
	srv.set("/img", v2, srv.modTime.Add(time.Hour))
	res, got = get()
	if res.Status != StatusDownloaded {
		t.Fatalf("changed file: want a new download, got %s", res.Status)
	}
	mustEqualBytes(t, "changed", got, v2)
}

func TestDigestChangeRefetches(t *testing.T) {
	v1, v2 := testBytes(64<<10, 6), testBytes(64<<10, 7)
	srv := newTestServer(t, map[string][]byte{"/img": v1})
	cache := t.TempDir()
	url := srv.URL + "/img"
	if _, err := Download(context.Background(), "", url, WithCacheDir(cache), WithExpectedDigest(sha256Of(v1))); err != nil {
		t.Fatal(err)
	}
	srv.set("/img", v2, srv.modTime)
	dst := filepath.Join(t.TempDir(), "image")
	res, err := Download(context.Background(), dst, url, WithCacheDir(cache), WithExpectedDigest(sha256Of(v2)))
	if err != nil || res.Status != StatusDownloaded {
		t.Fatalf("%+v, %v", res, err)
	}
	mustEqualBytes(t, "new version", readFile(t, dst), v2)
}

func TestLocalFilesAndFileURLs(t *testing.T) {
	content := testBytes(100<<10, 8)
	src := filepath.Join(t.TempDir(), "disk.img")
	if err := os.WriteFile(src, content, 0o644); err != nil {
		t.Fatal(err)
	}
	cache := t.TempDir()
	for _, loc := range []string{src, "file://" + src} {
		dst := filepath.Join(t.TempDir(), "image")
		res, err := Download(context.Background(), dst, loc, WithCacheDir(cache), WithExpectedDigest(sha256Of(content)))
		if err != nil || res.Status != StatusDownloaded || !res.ValidatedDigest {
			t.Fatalf("%s: %+v, %v", loc, res, err)
		}
		mustEqualBytes(t, loc, readFile(t, dst), content)
		// Writing the copy must not change the source.
		if err := os.WriteFile(dst, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
		mustEqualBytes(t, "source", readFile(t, src), content)
	}
	if entries, _ := CacheEntries(WithCacheDir(cache)); len(entries) != 0 {
		t.Errorf("local files went into the cache: %+v", entries)
	}
	dst := filepath.Join(t.TempDir(), "image")
	if _, err := Download(context.Background(), dst, src, WithExpectedDigest(sha256Of(nil))); !errors.Is(err, ErrDigestMismatch) || exists(dst) {
		t.Errorf("local digest mismatch: err=%v, dst exists=%v", err, exists(dst))
	}
}

func TestParseDigest(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"sha256:" + strings.Repeat("ab", 32), ""},
		{"sha512:" + strings.Repeat("AB", 64), ""},
		{"sha256:abc", "64 hex digits"},
		{"md5:" + strings.Repeat("ab", 16), "unsupported algorithm"},
		{strings.Repeat("ab", 32), "want <algorithm>:<hex>"},
	} {
		_, err := ParseDigest(tc.in)
		if (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("ParseDigest(%q) = %v, want error containing %q", tc.in, err, tc.err)
		}
	}
}

// corruptByte flips one byte of the file at path, keeping its size.
func corruptByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

// TestChangedCacheFileIsVerifiedAgain: a cached file changed on disk with its size kept (a flipped
// byte, a newer mtime) is hashed again before use; the mismatch is a cache miss: Download fetches
// it again, Cached and an offline Download fail rather than serve it.
func TestChangedCacheFileIsVerifiedAgain(t *testing.T) {
	content := testBytes(1<<20, 9)
	srv := newTestServer(t, map[string][]byte{"/img.qcow2": content})
	cache := t.TempDir()
	url := srv.URL + "/img.qcow2"
	digest := sha256Of(content)
	res, err := Download(context.Background(), "", url, WithCacheDir(cache), WithExpectedDigest(digest))
	if err != nil {
		t.Fatal(err)
	}
	e := entryFor(cache, url)
	if got := string(readFile(t, e.path(fileStamp))); !strings.HasPrefix(got, "size=1048576 mtime=") {
		t.Fatalf("stamp = %q", got)
	}
	corrupt := func() {
		t.Helper()
		corruptByte(t, res.CachePath, 4096)
		later := time.Now().Add(time.Hour)
		if err := os.Chtimes(res.CachePath, later, later); err != nil {
			t.Fatal(err)
		}
	}

	corrupt()
	if _, err := Cached(url, WithCacheDir(cache), WithExpectedDigest(digest)); !errors.Is(err, ErrNotCached) {
		t.Fatalf("Cached of a changed file: %v, want ErrNotCached", err)
	}
	dst := filepath.Join(t.TempDir(), "image")
	res, err = Download(context.Background(), dst, url, WithCacheDir(cache), WithExpectedDigest(digest))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusDownloaded {
		t.Fatalf("a changed cache file was used: %+v", res)
	}
	if n, _ := srv.stats(); n != 2 {
		t.Fatalf("fetches = %d, want 2 (the changed file fetched again)", n)
	}
	mustEqualBytes(t, "image", readFile(t, dst), content)
	mustEqualBytes(t, "cache", readFile(t, res.CachePath), content)

	// Touched but unchanged: hashed again, used, and stamped anew.
	later := time.Now().Add(2 * time.Hour)
	if err := os.Chtimes(res.CachePath, later, later); err != nil {
		t.Fatal(err)
	}
	if res, err := Cached(url, WithCacheDir(cache), WithExpectedDigest(digest)); err != nil || !res.ValidatedDigest {
		t.Fatalf("Cached of a touched file: %+v, %v", res, err)
	}
	if got, want := string(readFile(t, e.path(fileStamp))), fmt.Sprintf("mtime=%d\n", later.UnixNano()); !strings.HasSuffix(got, want) {
		t.Errorf("stamp after re-verification = %q, want it to end in %q", got, want)
	}

	// Offline, a changed file is an error, not a silent use.
	corrupt()
	srv.Close()
	_, err = Download(context.Background(), filepath.Join(t.TempDir(), "image"), url, WithCacheDir(cache), WithExpectedDigest(digest))
	if err == nil {
		t.Fatal("an offline download served a changed cache file")
	}
}

// TestDigestWithoutStampIsVerified: an entry written before stamps existed (or by Lima) has a
// digest file but no stamp; its data is hashed once, then trusted.
func TestDigestWithoutStampIsVerified(t *testing.T) {
	content := testBytes(256<<10, 10)
	srv := newTestServer(t, map[string][]byte{"/img": content})
	cache := t.TempDir()
	url := srv.URL + "/img"
	digest := sha256Of(content)
	if _, err := Download(context.Background(), "", url, WithCacheDir(cache), WithExpectedDigest(digest)); err != nil {
		t.Fatal(err)
	}
	e := entryFor(cache, url)
	if err := os.Remove(e.path(fileStamp)); err != nil {
		t.Fatal(err)
	}
	corruptByte(t, e.path(fileData), 10)
	if _, err := Cached(url, WithCacheDir(cache), WithExpectedDigest(digest)); !errors.Is(err, ErrNotCached) {
		t.Fatalf("a stamp-less entry with bad data: %v, want ErrNotCached", err)
	}
	corruptByte(t, e.path(fileData), 10) // undo
	if _, err := Cached(url, WithCacheDir(cache), WithExpectedDigest(digest)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(e.path(fileStamp)); err != nil {
		t.Errorf("no stamp after the verification: %v", err)
	}
}
