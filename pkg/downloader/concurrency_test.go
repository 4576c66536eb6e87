package downloader

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// TestMain lets the test binary act as a second downloading process (see TestTwoProcesses).
func TestMain(m *testing.M) {
	if url := os.Getenv("DOWNLOADER_TEST_URL"); url != "" {
		_, err := Download(context.Background(), os.Getenv("DOWNLOADER_TEST_DST"), url,
			WithCacheDir(os.Getenv("DOWNLOADER_TEST_CACHE")), WithDecompress(true))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestConcurrentGoroutinesFetchOnce(t *testing.T) {
	content := testBytes(8<<20, 20)
	srv := newTestServer(t, map[string][]byte{"/img": content})
	srv.gate = make(chan struct{})
	cache := t.TempDir()
	url := srv.URL + "/img"
	const n = 4
	var wg sync.WaitGroup
	errs := make([]error, n)
	dsts := make([]string, n)
	for i := range n {
		dsts[i] = filepath.Join(t.TempDir(), "image")
		wg.Go(func() { _, errs[i] = Download(context.Background(), dsts[i], url, WithCacheDir(cache)) })
	}
	close(srv.gate)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		mustEqualBytes(t, dsts[i], readFile(t, dsts[i]), content)
	}
	if fetches, _ := srv.stats(); fetches != 1 {
		t.Errorf("the file was fetched %d times, want 1", fetches)
	}
}

func TestConcurrentProcessesFetchOnce(t *testing.T) {
	content := testBytes(16<<20, 21)
	srv := newTestServer(t, map[string][]byte{"/img": content})
	cache := t.TempDir()
	url := srv.URL + "/img"
	var cmds []*exec.Cmd
	var dsts []string
	for range 2 {
		dst := filepath.Join(t.TempDir(), "image")
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), "DOWNLOADER_TEST_URL="+url, "DOWNLOADER_TEST_DST="+dst, "DOWNLOADER_TEST_CACHE="+cache)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds, dsts = append(cmds, cmd), append(dsts, dst)
	}
	for i, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		mustEqualBytes(t, dsts[i], readFile(t, dsts[i]), content)
	}
	if fetches, _ := srv.stats(); fetches != 1 {
		t.Errorf("the file was fetched %d times, want 1", fetches)
	}
}
