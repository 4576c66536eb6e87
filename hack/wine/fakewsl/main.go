// Command fakewsl is a stand-in for wsl.exe in tests: built as wsl.exe (GOOS=windows for wine, or
// natively), it runs pkg/driver/wsl2/wslfake against a state directory shared by every invocation.
//
// Environment:
//
//	FAKEWSL_STATE         the state directory (required)
//	FAKEWSL_HONOUR_UTF8   1: honour WSL_UTF8=1 (new WSL); otherwise messages are always UTF-16LE
//	FAKEWSL_LOCALE        de: print `--list --verbose` in German
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/limactl/limactl/pkg/driver/wsl2/wslfake"
)

func main() {
	dir := os.Getenv("FAKEWSL_STATE")
	if dir == "" {
		fmt.Fprintln(os.Stderr, "fakewsl: set FAKEWSL_STATE to the state directory")
		os.Exit(2)
	}
	h := &wslfake.Host{
		Dir:        dir,
		HonourUTF8: os.Getenv("FAKEWSL_HONOUR_UTF8") == "1",
		Locale:     os.Getenv("FAKEWSL_LOCALE"),
	}
	code := h.Exec(context.Background(), os.Args[1:], os.Environ(), os.Stdin, os.Stdout, os.Stderr)
	// On Windows the 32-bit status passes through as is (0xFFFFFFFF for wsl.exe's -1); elsewhere it
	// is truncated to 8 bits by the OS (255).
	os.Exit(int(int32(code)))
}
