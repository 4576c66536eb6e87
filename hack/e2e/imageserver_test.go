//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// imageServer serves the test image over HTTP on the loopback, as a mirror serves cloud images:
// ETag and Last-Modified on every file, Range and If-Range honoured (http.ServeContent). It logs
// every request with the bytes it sent, and can stall one download half-way to let a test
// interrupt it.
type imageServer struct {
	srv    *httptest.Server
	files  map[string]string // URL path -> local file
	digest string            // "sha256:..." of disk.qcow2
	size   int64             // of disk.qcow2

	mu    sync.Mutex
	log   []servedRequest
	stall *stall
}

type servedRequest struct {
	path, rangeHeader string
	status            int
	bytes             int64
}

// stall makes the first GET of path without a Range header send the full response's headers
// and after bytes of the body, close reached, then wait for release (or the client to go away)
// and cut the connection.
type stall struct {
	path             string
	after            int64
	reached, release chan struct{}
	used             bool
}

// newImageServer serves the test image's disk (plain, and zstd-compressed into a temporary
// file), kernel and initrd. The caller closes it.
func newImageServer(t *testing.T) *imageServer {
	t.Helper()
	disk := filepath.Join(imageDir, "disk.qcow2")
	st, err := os.Stat(disk)
	if err != nil {
		t.Fatal(err)
	}
	zst := filepath.Join(t.TempDir(), "disk.qcow2.zst")
	if err := compressZstd(disk, zst); err != nil {
		t.Fatal(err)
	}
	sum, err := sha256File(disk)
	if err != nil {
		t.Fatal(err)
	}
	s := &imageServer{
		files: map[string]string{
			"/images/disk.qcow2":     disk,
			"/images/disk.qcow2.zst": zst,
			"/images/vmlinuz":        filepath.Join(imageDir, "vmlinuz"),
			"/images/initrd.img":     filepath.Join(imageDir, "initrd.img"),
		},
		digest: "sha256:" + sum,
		size:   st.Size(),
	}
	s.srv = httptest.NewServer(s)
	return s
}

// url is the address of the file served at /images/name.
func (s *imageServer) url(name string) string { return s.srv.URL + "/images/" + name }

func (s *imageServer) Close() { s.srv.Close() }

// stallFirst arms a stall of the next plain GET of /images/name after `after` bytes.
func (s *imageServer) stallFirst(name string, after int64) *stall {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stall = &stall{path: "/images/" + name, after: after, reached: make(chan struct{}), release: make(chan struct{})}
	return s.stall
}

// requests returns what was served for /images/name so far.
func (s *imageServer) requests(name string) []servedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []servedRequest
	for _, r := range s.log {
		if r.path == "/images/"+name {
			out = append(out, r)
		}
	}
	return out
}

func (s *imageServer) takeStall(r *http.Request) *stall {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.stall
	if st == nil || st.used || st.path != r.URL.Path || r.Method != http.MethodGet || r.Header.Get("Range") != "" {
		return nil
	}
	st.used = true
	return st
}

func (s *imageServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	file, ok := s.files[r.URL.Path]
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(file)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	defer func() {
		s.mu.Lock()
		s.log = append(s.log, servedRequest{path: r.URL.Path, rangeHeader: r.Header.Get("Range"), status: cw.status, bytes: cw.n})
		s.mu.Unlock()
	}()
	w.Header().Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	if st := s.takeStall(r); st != nil {
		w.Header().Set("Content-Length", strconv.FormatInt(fi.Size(), 10))
		w.Header().Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
		w.Header().Set("Accept-Ranges", "bytes")
		cw.WriteHeader(http.StatusOK)
		_, _ = io.CopyN(cw, f, st.after)
		_ = http.NewResponseController(w).Flush()
		close(st.reached)
		select {
		case <-st.release:
		case <-r.Context().Done():
		}
		panic(http.ErrAbortHandler) // cut the connection mid-body
	}
	http.ServeContent(cw, r, path.Base(file), fi.ModTime(), f)
}

type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	c.status = code
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

func compressZstd(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	defer out.Close()
	zw, err := zstd.NewWriter(out, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return err
	}
	if _, err := io.Copy(zw, in); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return out.Close()
}

func sha256File(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// cacheEntry is the download cache directory of url (Lima's layout: by-url-sha256/<sha256(url)>).
func cacheEntry(url string) string {
	sum := sha256.Sum256([]byte(url))
	return filepath.Join(limaCache, "download", "by-url-sha256", hex.EncodeToString(sum[:]))
}

// cacheEntries lists the URLs the download cache holds.
func cacheEntries(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(limaCache, "download", "by-url-sha256")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var urls []string
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "url"))
		if err != nil {
			urls = append(urls, e.Name()+" (no url file)")
			continue
		}
		urls = append(urls, strings.TrimSpace(string(b)))
	}
	return urls
}
