package usernet

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBinaryFor(t *testing.T) {
	touch := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	prefix := t.TempDir()
	limactl := filepath.Join(prefix, "bin", "limactl")
	next := filepath.Join(prefix, "bin", binaryName())
	libexec := filepath.Join(prefix, "libexec", "lima", binaryName())

	// Missing: the error names both places and how to install it.
	_, err := binaryFor(limactl)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("binaryFor with no lima-usernet: %v, want os.ErrNotExist", err)
	}
	for _, want := range []string{next, libexec, "make install"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}

	// A directory of that name does not count.
	if err := os.MkdirAll(next, 0o755); err != nil {
		t.Fatal(err)
	}
	touch(libexec)
	if got, err := binaryFor(limactl); err != nil || got != libexec {
		t.Errorf("binaryFor = %q, %v; want %q (libexec)", got, err, libexec)
	}

	// Next to limactl comes first.
	if err := os.Remove(next); err != nil {
		t.Fatal(err)
	}
	touch(next)
	if got, err := binaryFor(limactl); err != nil || got != next {
		t.Errorf("binaryFor = %q, %v; want %q (next to limactl)", got, err, next)
	}
}

func TestIsUsernet(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want bool
	}{
		{[]string{"/usr/local/libexec/lima/" + binaryName(), "--pidfile=/p"}, true},
		{[]string{"/usr/local/bin/limactl", "usernet", "--pidfile", "/p"}, true},
		{[]string{"/usr/local/bin/limactl", "hostagent", "default"}, false},
		{nil, false},
	} {
		if got := isUsernet(tt.args); got != tt.want {
			t.Errorf("isUsernet(%q) = %v, want %v", tt.args, got, tt.want)
		}
	}
}
