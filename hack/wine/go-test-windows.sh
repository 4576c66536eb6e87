#!/usr/bin/env bash
# go-test-windows.sh: runs the wsl2 driver's tests as Windows programs under wine, against the fake
# wsl.exe (hack/wine/fakewsl, built for Windows; it writes UTF-16LE like the real one). This checks
# Go's Windows behaviour of the driver (paths, environment, os/exec with hidden windows, 32-bit exit
# codes) and the parsers; it proves nothing about a real WSL2, which needs a Windows host.
#
# Usage: hack/wine/go-test-windows.sh [go test flags...]
# Skips (exit 0, with a message) when wine64 or MinGW is missing.
set -euo pipefail
cd "$(dirname "$0")/../.."
GO=${GO:-go}

wine=${WINE64:-/usr/lib/wine/wine64}
[ -x "$wine" ] || wine=$(command -v wine64 || true)
if [ -z "$wine" ]; then
	echo "SKIP test-windows: wine64 is not installed; install it with: apt-get install -y --no-install-recommends wine64 gcc-mingw-w64-x86-64-win32"
	exit 0
fi
if ! command -v x86_64-w64-mingw32-gcc >/dev/null 2>&1; then
	echo "SKIP test-windows: x86_64-w64-mingw32-gcc is not installed (it builds the bcryptprimitives.dll shim); install it with: apt-get install -y --no-install-recommends gcc-mingw-w64-x86-64-win32"
	exit 0
fi

bin=${XDG_CACHE_HOME:-$HOME/.cache}/limactl/fakewsl
mkdir -p "$bin"
GOOS=windows GOARCH=amd64 "$GO" build -o "$bin/wsl.exe" ./hack/wine/fakewsl
# Wine maps / to drive Z:; the Windows test process needs a Windows path.
FAKEWSL_DIR="Z:$(printf '%s' "$bin" | tr / '\\')"
export FAKEWSL_DIR
GOOS=windows GOARCH=amd64 "$GO" test -exec "$PWD/hack/wine/go_windows_amd64_exec" "$@" ./pkg/driver/wsl2/...
