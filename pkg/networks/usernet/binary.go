package usernet

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// binaryName is the switch's executable, which `limactl usernet` execs ("lima-usernet.exe" on
// Windows).
func binaryName() string {
	if runtime.GOOS == "windows" {
		return "lima-usernet.exe"
	}
	return "lima-usernet"
}

// Binary returns the lima-usernet of the running limactl (symlinks resolved): see binaryFor.
func Binary() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(exe); err == nil {
		exe = real
	}
	return binaryFor(exe)
}

// binaryFor returns the lima-usernet of the limactl at limactl: the first that exists of
// <dir>/lima-usernet, next to limactl (a `go build` tree, or a package with one directory), and
// <prefix>/libexec/lima/lima-usernet, where `make install` puts it, <prefix> being the parent of
// <dir>. When neither exists, the error (wrapping os.ErrNotExist) names both paths.
func binaryFor(limactl string) (string, error) {
	dir := filepath.Dir(limactl)
	paths := []string{
		filepath.Join(dir, binaryName()),
		filepath.Join(filepath.Dir(dir), "libexec", "lima", binaryName()),
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s, which runs user-v2 networks, is missing: looked for %s; install it with `make install` (%w)",
		binaryName(), strings.Join(paths, " and "), os.ErrNotExist)
}
