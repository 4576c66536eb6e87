//go:build linux

package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testGuestInstall: `limactl guest-install` copies the guest agent next to limactl into the
// running guest (guestInstallPrefix/bin), restarts it, and port forwarding keeps working.
func testGuestInstall(t *testing.T) {
	r := must(t, 5*time.Minute, "guest-install", vm)
	for _, want := range []string{"Copying", "Installing", "Restarting lima-guestagent"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("guest-install did not log %q:\n%s", want, r)
		}
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(limactlBin)), "share", "lima", "lima-guestagent.Linux-x86_64"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	want := hex.EncodeToString(sum[:])
	got := must(t, time.Minute, "shell", vm, "sha256sum", "/usr/local/bin/lima-guestagent").stdout
	if !strings.HasPrefix(got, want) {
		t.Errorf("the guest's agent is %q, want sha256 %s", got, want)
	}
	waitFor(t, "the guest agent to run again", time.Minute, func() bool {
		r, _ := limactl(t.Context(), nil, "shell", vm, "systemctl", "is-active", "lima-guestagent")
		return strings.TrimSpace(r.stdout) == "active"
	})
	// Argument handling: an unknown instance is refused in Lima's words.
	r, err = limactl(t.Context(), nil, "guest-install", "no-such-instance")
	if err != nil || r.code == 0 || !strings.Contains(r.stderr, "does not exist") {
		t.Errorf("guest-install no-such-instance: %v\n%s", err, r)
	}
}
