package osutil

import "testing"

func TestUnixPathMax(t *testing.T) {
	for goos, want := range map[string]int{"linux": 108, "windows": 108, "darwin": 104, "freebsd": 104, "openbsd": 104, "netbsd": 104, "dragonfly": 104} {
		if got := UnixPathMax(goos); got != want {
			t.Errorf("UnixPathMax(%q) = %d, want %d", goos, got, want)
		}
	}
}
