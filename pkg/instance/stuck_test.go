package instance

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// TestStuckSaysWhy: a start that runs out of time names the step, the accelerator, the console (or its
// silence) and what to try; the guest's console cannot drive the user's terminal.
func TestStuckSaysWhy(t *testing.T) {
	dir := t.TempDir()
	inst := &store.Instance{Name: "vm", Dir: dir, VMType: "qemu"}
	w := &startWatch{step: &events.Progress{Step: "ssh", Description: "Waiting for the guest's SSH server", Since: time.Now().Add(-9 * time.Minute)}, accel: "kvm"}

	msg := w.stuck(inst).Error()
	for _, want := range []string{`still at step "ssh" (Waiting for the guest's SSH server), for 9m0s`, "under kvm",
		"printed nothing on its serial console (" + filepath.Join(dir, filenames.SerialLog) + ")",
		"`LIMA_QEMU_ACCEL=tcg limactl start vm`", "stuck in its firmware or boot loader", filepath.Join(dir, filenames.HostAgentStderr)} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}

	console := "[    1.000000] Linux version 6.1\r\n\x1b]0;pwned\x07[   30.000000] random: crng init done\x1b[2J\n"
	if err := os.WriteFile(filepath.Join(dir, filenames.SerialLog), []byte(console), 0o644); err != nil {
		t.Fatal(err)
	}
	w.accel = "tcg"
	msg = w.stuck(inst).Error()
	for _, want := range []string{"under tcg", "crng init done", "a longer --timeout"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
	if strings.ContainsAny(msg, "\x1b\x07\r") || strings.Contains(msg, "printed nothing") || strings.Contains(msg, "LIMA_QEMU_ACCEL") {
		t.Errorf("message:\n%q", msg)
	}

	w = &startWatch{}
	inst.VMType = "vz"
	if msg = w.stuck(inst).Error(); !strings.Contains(msg, "no start-up step") || !strings.Contains(msg, "vmType vz") {
		t.Errorf("message without events:\n%s", msg)
	}
}
