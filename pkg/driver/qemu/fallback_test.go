package qemu

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
	if !errors.As(err, &pe) || !strings.Contains(pe.Reason, "showed no sign of life") || !pe.TimedOut {
		t.Fatalf("cachedProbeKVM after the verdict = %v; want the recorded verdict, as a timeout", err)
	}
	choice := linuxAccel(AccelFacts{KVMProbe: err})
	if choice.Accel != AccelTCG || !strings.Contains(choice.Warning, "LIMA_QEMU_ACCEL") {
		t.Errorf("choice = %+v", choice)
	}
}

// TestSilentVerdictExpires: a silent guest is evidence, not proof (a guest can be silent on purpose),
// so its verdict is tested again after a day instead of taking KVM from every instance for good.
func TestSilentVerdictExpires(t *testing.T) {
	t.Setenv("LIMA_CACHE_HOME", t.TempDir())
	bin := filepath.Join(t.TempDir(), "qemu-system-x86_64")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := recordProbeVerdict(bin, probeCacheEntry{Reason: "a guest under KVM showed no sign of life", TimedOut: true, Time: time.Now().Add(-timeoutTTL - time.Minute)}); err != nil {
		t.Fatal(err)
	}
	// The stand-in binary fails the fresh probe in its own words: the old verdict was not believed.
	if err := cachedProbeKVM(context.Background(), bin); err == nil || strings.Contains(err.Error(), "no sign of life") {
		t.Fatalf("cachedProbeKVM with a day-old silent verdict = %v; want a fresh probe", err)
	}
}

// TestRecordProbeVerdictConcurrent: verdicts recorded at once for different QEMU binaries are all kept.
func TestRecordProbeVerdictConcurrent(t *testing.T) {
	t.Setenv("LIMA_CACHE_HOME", t.TempDir())
	dir := t.TempDir()
	var bins []string
	for i := range 8 {
		bin := filepath.Join(dir, "qemu-"+string(rune('a'+i)))
		if err := os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, bin)
	}
	done := make(chan error, len(bins))
	for _, bin := range bins {
		go func() {
			_, err := recordProbeVerdict(bin, probeCacheEntry{Reason: "silent " + bin, Time: time.Now()})
			done <- err
		}()
	}
	for range bins {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	for _, bin := range bins {
		if err := cachedProbeKVM(context.Background(), bin); err == nil || !strings.Contains(err.Error(), "silent "+bin) {
			t.Errorf("the verdict for %s was lost: %v", bin, err)
		}
	}
}
