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

// TestHostAgentEvents: start follows only events of the running host agent, and reads the last one
// without loading a large file.
func TestHostAgentEvents(t *testing.T) {
	dir := t.TempDir()
	inst := &store.Instance{Name: "vm", Dir: dir}
	pid := filepath.Join(dir, filenames.HostAgentPID)
	if err := os.WriteFile(pid, []byte("1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := os.Chtimes(pid, now, now); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	w := events.NewWriter(&log)
	_ = w.Update(func(s *events.Status) { s.SSHLocalPort = 2222 })
	for range 5000 { // ~1 MB of cloud-init progress a guest may cause
		_ = w.Update(func(s *events.Status) {
			s.CloudInitProgress = &events.CloudInitProgress{LogLine: strings.Repeat("x", 150)}
		})
	}
	_ = w.Update(func(s *events.Status) { s.Progress = &events.Progress{Step: "boot-scripts"}; s.CloudInitProgress = nil })
	if err := os.WriteFile(filepath.Join(dir, filenames.HostAgentStdout), []byte(log.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	first, last := hostAgentEvents(inst)
	if first.IsZero() || last.Progress == nil || last.Progress.Step != "boot-scripts" || last.Running {
		t.Errorf("hostAgentEvents = %v, %+v", first, last)
	}
	// Events older than the pid file belong to another host agent.
	later := now.Add(time.Minute)
	if err := os.Chtimes(pid, later, later); err != nil {
		t.Fatal(err)
	}
	if first, _ := hostAgentEvents(inst); !first.IsZero() {
		t.Errorf("events from before the pid file were taken for the running host agent's")
	}
}
