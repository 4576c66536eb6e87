package downloader

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestResumeAfterCut(t *testing.T) {
	content := testBytes(4<<20, 10)
	const cut = 1<<20 + 123
	for _, tc := range []struct {
		name    string
		retries int // 0: the first call fails and a second call resumes
	}{{"second call", 0}, {"same call", DefaultRetries}} {
		t.Run(tc.name, func(t *testing.T) {
			srv := newTestServer(t, map[string][]byte{"/img": content})
			srv.cutAfter = cut
			cache := t.TempDir()
			url := srv.URL + "/img"
			dst := filepath.Join(t.TempDir(), "image")
			opts := []Opt{WithCacheDir(cache), WithExpectedDigest(sha256Of(content)), WithRetries(tc.retries)}
			res, err := Download(context.Background(), dst, url, opts...)
			if tc.retries == 0 {
				if err == nil {
					t.Fatal("the cut download succeeded")
				}
				e := entryFor(cache, url)
				if st, err := os.Stat(e.path(filePartial)); err != nil || st.Size() != cut {
					t.Fatalf("partial file: %v, %v (want %d bytes)", st, err, cut)
				}
				if exists(dst) || exists(e.path(fileData)) {
					t.Fatal("a partial download was put in place")
				}
				res, err = Download(context.Background(), dst, url, opts...)
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != StatusDownloaded || !res.ValidatedDigest {
				t.Fatalf("result %+v", res)
			}
			mustEqualBytes(t, "resumed download", readFile(t, dst), content)
			fetches, ranges := srv.stats()
			if diff := cmp.Diff([]string{"bytes=1048699-"}, ranges); diff != "" {
				t.Errorf("Range headers (-want +got):\n%s", diff)
			}
			if fetches != 2 {
				t.Errorf("fetches = %d, want 2 (the cut one and the 206)", fetches)
			}
			if exists(entryFor(cache, url).path(filePartial)) {
				t.Error("data.partial left behind")
			}
		})
	}
}

func TestResumeFallsBackTo200(t *testing.T) {
	content := testBytes(2<<20, 11)
	srv := newTestServer(t, map[string][]byte{"/img": content})
	srv.cutAfter = 700 << 10
	srv.noRange = true
	cache := t.TempDir()
	url := srv.URL + "/img"
	dst := filepath.Join(t.TempDir(), "image")
	opts := []Opt{WithCacheDir(cache), WithExpectedDigest(sha256Of(content)), WithRetries(0)}
	if _, err := Download(context.Background(), dst, url, opts...); err == nil {
		t.Fatal("the cut download succeeded")
	}
	res, err := Download(context.Background(), dst, url, opts...)
	if err != nil || res.Status != StatusDownloaded {
		t.Fatalf("%+v, %v", res, err)
	}
	mustEqualBytes(t, "restarted download", readFile(t, dst), content)
	if _, ranges := srv.stats(); len(ranges) != 1 {
		t.Errorf("want one Range request (answered 200), got %v", ranges)
	}
}

func TestChangedFileIsNotResumed(t *testing.T) {
	v1, v2 := testBytes(2<<20, 12), testBytes(2<<20, 13)
	srv := newTestServer(t, map[string][]byte{"/img": v1})
	srv.cutAfter = 500 << 10
	cache := t.TempDir()
	url := srv.URL + "/img"
	if _, err := Download(context.Background(), "", url, WithCacheDir(cache), WithRetries(0)); err == nil {
		t.Fatal("the cut download succeeded")
	}
	// The file changes on the server: If-Range no longer matches, the server sends all of v2.
	srv.set("/img", v2, srv.modTime.Add(1e9*3600))
	dst := filepath.Join(t.TempDir(), "image")
	if _, err := Download(context.Background(), dst, url, WithCacheDir(cache), WithExpectedDigest(sha256Of(v2))); err != nil {
		t.Fatal(err)
	}
	mustEqualBytes(t, "new version", readFile(t, dst), v2)
}
