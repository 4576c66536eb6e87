package downloader

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/lockutil"
)

func fillCache(t *testing.T, srv *testServer, cache string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := Download(context.Background(), "", srv.URL+p, WithCacheDir(cache)); err != nil {
			t.Fatal(err)
		}
	}
}

func entryURLs(t *testing.T, cache string) []string {
	t.Helper()
	entries, err := CacheEntries(WithCacheDir(cache))
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, e := range entries {
		urls = append(urls, e.URL)
	}
	sort.Strings(urls)
	return urls
}

func TestCacheEntriesAndPrune(t *testing.T) {
	srv := newTestServer(t, map[string][]byte{"/a": []byte("aaa"), "/b": []byte("bbbb"), "/c": []byte("c")})
	cache := t.TempDir()
	fillCache(t, srv, cache, "/a", "/b", "/c")
	entries, err := CacheEntries(WithCacheDir(cache))
	if err != nil || len(entries) != 3 {
		t.Fatalf("%+v, %v", entries, err)
	}
	sizes := map[string]int64{}
	for _, e := range entries {
		if e.Partial || e.LastModified.IsZero() {
			t.Errorf("entry %+v", e)
		}
		sizes[e.URL] = e.Size
	}
	if diff := cmp.Diff(map[string]int64{srv.URL + "/a": 3, srv.URL + "/b": 4, srv.URL + "/c": 1}, sizes); diff != "" {
		t.Errorf("entry sizes (-want +got):\n%s", diff)
	}

	// keep-referred: /b stays; /c is locked by a "download in progress" and stays with an error.
	unlock, err := lockutil.Lock(filepath.Join(entryFor(cache, srv.URL+"/c").dir, fileLock))
	if err != nil {
		t.Fatal(err)
	}
	removed, err := Prune(func(u string) bool { return u == srv.URL+"/b" }, WithCacheDir(cache))
	if err == nil || !strings.Contains(err.Error(), "download is in progress") {
		t.Errorf("want an in-progress error, got %v", err)
	}
	_ = unlock()
	if len(removed) != 1 || removed[0].URL != srv.URL+"/a" {
		t.Errorf("removed %+v", removed)
	}
	if diff := cmp.Diff([]string{srv.URL + "/b", srv.URL + "/c"}, entryURLs(t, cache)); diff != "" {
		t.Errorf("entries after a keep-referred prune (-want +got):\n%s", diff)
	}

	// Without keep, everything goes, and the download directory with it.
	if _, err := Prune(nil, WithCacheDir(cache)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(cache, "download")); !os.IsNotExist(err) {
		t.Errorf("download dir still there: %v", err)
	}
	// A pruned URL downloads again.
	fillCache(t, srv, cache, "/a")
	if diff := cmp.Diff([]string{srv.URL + "/a"}, entryURLs(t, cache)); diff != "" {
		t.Errorf("after re-download (-want +got):\n%s", diff)
	}
}

func TestCacheDirFromEnv(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("LIMA_CACHE_HOME", dir)
	got, err := CacheDir()
	if err != nil || got != dir {
		t.Fatalf("CacheDir() = %q, %v; want %q", got, err, dir)
	}
	srv := newTestServer(t, map[string][]byte{"/a": []byte("aaa")})
	if _, err := Download(context.Background(), "", srv.URL+"/a", WithCache()); err != nil {
		t.Fatal(err)
	}
	res, err := Cached(srv.URL + "/a")
	if err != nil || !strings.HasPrefix(res.CachePath, filepath.Join(dir, "download", "by-url-sha256")+"/") {
		t.Fatalf("Cached: %+v, %v", res, err)
	}
}
