package downloader

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/limactl/limactl/pkg/limayaml"
)

func TestNerdctlArchive(t *testing.T) {
	amd64, arm64 := []byte("archive for x86_64"), []byte("archive for aarch64")
	var gets atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gets.Add(1)
		switch r.URL.Path {
		case "/amd64.tgz":
			_, _ = w.Write(amd64)
		case "/arm64.tgz":
			_, _ = w.Write(arm64)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	digest := func(b []byte) string { return fmt.Sprintf("sha256:%x", sha256.Sum256(b)) }
	archives := []limayaml.File{
		{Location: srv.URL + "/missing.tgz", Arch: limayaml.X8664},
		{Location: srv.URL + "/arm64.tgz", Arch: limayaml.AARCH64, Digest: digest(arm64)},
		{Location: srv.URL + "/amd64.tgz", Arch: limayaml.X8664, Digest: digest(amd64)},
	}
	cache := WithCacheDir(t.TempDir())
	ctx := context.Background()

	// The first archive for the arch that downloads wins; the one for the other arch is never fetched.
	f, p, err := NerdctlArchive(ctx, archives, limayaml.X8664, cache)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(p); string(got) != string(amd64) || f.Location != srv.URL+"/amd64.tgz" {
		t.Fatalf("got %q from %s (%s)", got, p, f.Location)
	}
	// A second call is served by the cache (only the missing one is asked for again).
	before := gets.Load()
	if _, p2, err := NerdctlArchive(ctx, archives[2:], limayaml.X8664, cache); err != nil || p2 != p {
		t.Fatalf("second call: %s, %v; want the cached %s", p2, err, p)
	}
	if gets.Load() != before {
		t.Errorf("the second call went to the server")
	}

	// No archive for the arch: the error says what to do.
	if _, _, err := NerdctlArchive(ctx, archives[1:2], limayaml.X8664, cache); err == nil || !strings.Contains(err.Error(), "no nerdctl-full archive for arch x86_64") {
		t.Errorf("no archive for the arch: %v", err)
	}
	// A wrong digest is refused, and the error names the location.
	bad := []limayaml.File{{Location: srv.URL + "/amd64.tgz", Digest: digest(arm64)}}
	_, _, err = NerdctlArchive(ctx, bad, limayaml.X8664, WithCacheDir(t.TempDir()))
	if !errors.Is(err, ErrDigestMismatch) && (err == nil || !strings.Contains(err.Error(), "digest")) {
		t.Errorf("wrong digest: %v", err)
	}
	if err == nil || !strings.Contains(err.Error(), srv.URL+"/amd64.tgz") {
		t.Errorf("the error does not name the archive: %v", err)
	}

	// A local archive is used in place, digest checked; without a digest, its sha256 is filled in.
	local := filepath.Join(t.TempDir(), "nerdctl-full.tgz")
	if err := os.WriteFile(local, amd64, 0o644); err != nil {
		t.Fatal(err)
	}
	f, p, err = NerdctlArchive(ctx, []limayaml.File{{Location: local}}, limayaml.X8664, cache)
	if err != nil || p != local || f.Digest != digest(amd64) {
		t.Errorf("local archive: %s %q %v", p, f.Digest, err)
	}
	if _, _, err := NerdctlArchive(ctx, []limayaml.File{{Location: local, Digest: digest(arm64)}}, limayaml.X8664, cache); !errors.Is(err, ErrDigestMismatch) && (err == nil || !strings.Contains(err.Error(), "digest")) {
		t.Errorf("local archive with a wrong digest: %v", err)
	}
}
