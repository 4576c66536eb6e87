package downloader

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"
)

// testServer serves files over real HTTP on loopback and records what it was asked.
type testServer struct {
	*httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	modTime  time.Time
	fetches  int           // responses with status 200 or 206 (a body was sent)
	ranges   []string      // Range headers received
	cutAfter int           // >0: the next 200 response is cut after this many bytes
	noRange  bool          // ignore Range headers (answer 200)
	noMeta   bool          // send no Last-Modified
	gate     chan struct{} // when set, bodies wait until it is closed
}

func newTestServer(t testing.TB, files map[string][]byte) *testServer {
	s := &testServer{files: files, modTime: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
	s.Server = httptest.NewServer(http.HandlerFunc(s.handle))
	t.Cleanup(s.Close)
	return s
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

func (s *testServer) handle(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	content, ok := s.files[r.URL.Path]
	if rg := r.Header.Get("Range"); rg != "" {
		s.ranges = append(s.ranges, rg)
	}
	cut := s.cutAfter
	if r.Header.Get("Range") == "" || s.noRange {
		s.cutAfter = 0
	} else {
		cut = 0
	}
	noRange, modTime, gate := s.noRange, s.modTime, s.gate
	if s.noMeta {
		modTime = time.Time{}
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if noRange {
		r.Header.Del("Range")
	}
	if gate != nil {
		<-gate
	}
	if cut > 0 {
		s.count(http.StatusOK)
		w.Header().Set("Content-Length", strconv.Itoa(len(content)))
		w.Header().Set("Last-Modified", modTime.Format(http.TimeFormat))
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(content[:cut])
		conn, _, err := http.NewResponseController(w).Hijack()
		if err == nil {
			conn.Close()
		}
		return
	}
	rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
	w.Header().Set("Content-Type", "application/octet-stream")
	http.ServeContent(rec, r, "", modTime, bytes.NewReader(content))
	s.count(rec.status)
}

func (s *testServer) count(status int) {
	if status == http.StatusOK || status == http.StatusPartialContent {
		s.mu.Lock()
		s.fetches++
		s.mu.Unlock()
	}
}

func (s *testServer) stats() (fetches int, ranges []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.fetches, append([]string(nil), s.ranges...)
}

func (s *testServer) set(path string, content []byte, modTime time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[path] = content
	s.modTime = modTime
}

// testBytes returns n pseudo-random bytes with runs of zeros (like a disk image).
func testBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, seed))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		if (i/(128<<10))%3 == 1 {
			continue
		}
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

func sha256Of(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}
