package wsl2_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
)

// tempDir is t.TempDir, except under Windows, where the cleanup removes the files one by one: Wine
// 8.0 lacks the call Go's os.RemoveAll makes there ("unlinkat ...: Invalid function").
func tempDir(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "windows" {
		return t.TempDir()
	}
	dir, err := os.MkdirTemp("", "wsl2test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		var paths []string
		_ = filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
			if err == nil {
				paths = append(paths, p)
			}
			return nil
		})
		slices.Reverse(paths) // children before their directory
		for _, p := range paths {
			if err := os.Remove(p); err != nil {
				t.Logf("cleanup: %v", err)
			}
		}
	})
	return dir
}
