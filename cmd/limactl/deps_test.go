package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestHeavyDepsStayOut keeps gvisor-tap-vsock's network stack (gvisor's netstack, gopacket) out of
// limactl: they cost every limactl process (list, shell, the host agent) about 10 MB of RSS and
// tens of milliseconds of package init (docs/performance.md). Only lima-usernet links them.
func TestHeavyDepsStayOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go is not in $PATH")
	}
	banned := []string{"github.com/google/gopacket", "gvisor.dev/gvisor", "github.com/containers/gvisor-tap-vsock/pkg/virtualnetwork",
		"github.com/santhosh-tekuri/jsonschema"} // its init compiles every draft's meta-schema
	for _, goos := range []string{"linux", "darwin", "windows"} {
		cmd := exec.Command(goBin, "list", "-deps", ".")
		cmd.Env = append(os.Environ(), "GOOS="+goos, "CGO_ENABLED=0")
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("GOOS=%s go list -deps: %v", goos, err)
		}
		for pkg := range strings.SplitSeq(string(out), "\n") {
			for _, b := range banned {
				if pkg == b || strings.HasPrefix(pkg, b+"/") {
					t.Errorf("GOOS=%s: limactl links %s (only lima-usernet may: pkg/networks/usernet/serve)", goos, pkg)
				}
			}
		}
	}
}
