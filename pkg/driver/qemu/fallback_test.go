package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAcceleratorCanFallBack(t *testing.T) {
	for _, c := range []struct {
		l    launch
		want bool
	}{
		{launch{accel: AccelKVM}, true},
		{launch{accel: AccelKVM, forced: true}, false}, // LIMA_QEMU_ACCEL=kvm keeps KVM whatever happens
		{launch{accel: AccelTCG}, false},
		{launch{accel: AccelHVF}, false},
		{launch{accel: AccelTCG, silent: true}, true}, // the test knob's silent launch
	} {
		d := &Driver{launched: c.l}
		if name, got := d.Accelerator(); name != c.l.accel || got != c.want {
			t.Errorf("%+v: Accelerator() = %q, %v; want %q, %v", c.l, name, got, c.l.accel, c.want)
		}
	}
}

// TestDisableAcceleratorIsRemembered: the host agent's verdict goes into the probe cache, so the next
// start on this host picks TCG without probing or waiting again.
func TestDisableAcceleratorIsRemembered(t *testing.T) {
	t.Setenv("LIMA_CACHE_HOME", t.TempDir())
	bin := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	d := &Driver{launched: launch{binary: bin, accel: AccelKVM}}
	record, err := d.DisableAccelerator("a guest under KVM showed no sign of life within 40s")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(record, filepath.Join("qemu-kvm-probe", "results.json")) {
		t.Errorf("record = %q", record)
	}
	t.Setenv("LIMACTL_TEST_SILENT_ACCEL", "5s")
	if d.silentAccelKnob(false) {
		t.Error("a second Start of the same driver would be silent again")
	}
	// The stand-in binary cannot run a probe: a cached verdict is the only way to get this answer.
	err = cachedProbeKVM(context.Background(), bin)
	var pe *ProbeError
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "showed no sign of life") || pe.TimedOut {
		t.Fatalf("cachedProbeKVM after the verdict = %v; want the recorded verdict, not a timeout", err)
	}
	choice := linuxAccel(AccelFacts{KVMProbe: err})
	if choice.Accel != AccelTCG || !strings.Contains(choice.Warning, "LIMA_QEMU_ACCEL") {
		t.Errorf("choice = %+v", choice)
	}
}
