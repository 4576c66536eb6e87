package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/downloader"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/templates"
)

// seedCache writes cache entries in Lima's layout, as a previous download would have.
func seedCache(t *testing.T, cache string, urls ...string) {
	t.Helper()
	for _, u := range urls {
		sum := sha256.Sum256([]byte(u))
		dir := filepath.Join(cache, "download", "by-url-sha256", hex.EncodeToString(sum[:]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for name, content := range map[string]string{"url": u, "data": "bytes of " + u} {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}

func cachedURLs(t *testing.T) []string {
	t.Helper()
	entries, err := downloader.CacheEntries()
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

// firstTemplateImage returns an image location from the embedded templates.
func firstTemplateImage(t *testing.T) string {
	t.Helper()
	for _, name := range templates.Names() {
		data, err := templates.Read(name)
		if err != nil {
			t.Fatal(err)
		}
		var y limayaml.LimaYAML
		if _, err := limayaml.Unmarshal(data, &y, name); err == nil && len(y.Images) > 0 {
			return y.Images[0].Location
		}
	}
	t.Fatal("no embedded template has images")
	return ""
}

func TestPrune(t *testing.T) {
	limaHome := filepath.Join(t.TempDir(), ".lima")
	cache := t.TempDir()
	t.Setenv("LIMA_HOME", limaHome)
	t.Setenv("LIMA_CACHE_HOME", cache)
	instDir := filepath.Join(limaHome, "one")
	if err := os.MkdirAll(instDir, 0o700); err != nil {
		t.Fatal(err)
	}
	limaYAML := `images:
- location: https://example.com/one.qcow2
  arch: x86_64
  kernel:
    location: https://example.com/vmlinuz
firmware:
  images:
  - location: https://example.com/efi.fd
`
	if err := os.WriteFile(filepath.Join(instDir, "lima.yaml"), []byte(limaYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	tmplImage := firstTemplateImage(t)
	archive := limayaml.DefaultContainerdArchives()[0].Location
	seedCache(t, cache, "https://example.com/one.qcow2", "https://example.com/vmlinuz", "https://example.com/efi.fd",
		"https://example.com/stale.img", tmplImage, archive)

	if err := runPrune(context.Background(), &PruneOptions{KeepReferred: true}); err != nil {
		t.Fatal(err)
	}
	want := []string{"https://example.com/efi.fd", "https://example.com/one.qcow2", "https://example.com/vmlinuz", tmplImage, archive}
	sort.Strings(want)
	if diff := cmp.Diff(want, cachedURLs(t)); diff != "" {
		t.Errorf("after prune --keep-referred (-want +got):\n%s", diff)
	}

	if err := runPrune(context.Background(), &PruneOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := cachedURLs(t); len(got) != 0 {
		t.Errorf("after prune: %v left", got)
	}
}

func TestPruneFlags(t *testing.T) {
	var got *PruneOptions
	cmd := newPruneCommand(nil, func(o *PruneOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"--keep-referred"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if got == nil || !got.KeepReferred {
		t.Fatalf("options %+v", got)
	}
}
