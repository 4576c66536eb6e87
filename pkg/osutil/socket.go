package osutil

import "strings"

// UnixPathMax is the size of sockaddr_un.sun_path, the terminating NUL included, on a host whose
// runtime.GOOS is goos: 104 on macOS and the BSDs, 108 on Linux and Windows. A Unix socket path must
// be shorter than it.
func UnixPathMax(goos string) int {
	if goos == "darwin" || goos == "dragonfly" || strings.HasSuffix(goos, "bsd") {
		return 104
	}
	return 108
}
