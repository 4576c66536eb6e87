package qemu

import (
	"encoding/json"
	"os"
	"path/filepath"
	"time"

	"github.com/limactl/limactl/pkg/atomicfile"
	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/lockutil"
)

var _ driver.AccelFallback = (*Driver)(nil)

// launch is what the last Start of a Driver value ran the guest with.
type launch struct {
	binary string // the QEMU binary, the key of the probe cache
	accel  string
	forced bool // LIMA_QEMU_ACCEL chose it
	// silent: the test knob LIMACTL_TEST_SILENT_ACCEL kept the vCPUs stopped (-S).
	silent bool
}

// Accelerator implements driver.AccelFallback. Only KVM chosen by the probe can fall back: hvf and
// whpx have no silent failure mode we know of, and a forced accelerator is the user's decision.
func (d *Driver) Accelerator() (string, bool) {
	l := d.launched
	return l.accel, l.silent || (l.accel == AccelKVM && !l.forced)
}

// DisableAccelerator implements driver.AccelFallback: the verdict goes into the KVM probe's cache,
// keyed like the probe's own results by QEMU binary and kernel, so later starts on this host emulate
// without waiting for a guest to prove anything again. It is recorded as a timeout, which is believed
// for timeoutTTL (a day) and then tested again: a silent guest is strong evidence, not proof (a guest
// can be silent on purpose: no serial console, sshd masked), and one guest must not take KVM away
// from every other instance for good.
func (d *Driver) DisableAccelerator(reason string) (string, error) {
	d.fellBack = true
	bin := d.launched.binary
	if bin == "" {
		bin = BinaryName(d.guestArch())
	}
	return recordProbeVerdict(bin, probeCacheEntry{OK: false, Reason: reason, TimedOut: true, Time: time.Now().UTC()})
}

// silentAccelKnob reports whether the test knob asks for a silent first launch: the vCPUs stay stopped,
// so the guest shows no sign of life, as under a KVM that hangs. It only applies to a launch the host
// agent may fall back from, and only once per Driver value.
func (d *Driver) silentAccelKnob(forced bool) bool {
	return !forced && !d.fellBack && envknob.LimactlTestSilentAccel.Duration() > 0
}

// recordProbeVerdict stores entry for qemuBinary in the probe cache and returns the cache file.
func recordProbeVerdict(qemuBinary string, entry probeCacheEntry) (string, error) {
	key, err := probeCacheKey(qemuBinary)
	if err != nil {
		return "", err
	}
	file, err := probeCacheFile()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
		return file, err
	}
	// Host agents of several instances may record at once: read, change and write under a lock so
	// that none loses another's verdict.
	unlock, err := lockutil.Lock(file + ".lock")
	if err != nil {
		return file, err
	}
	defer func() { _ = unlock() }()
	cache := map[string]probeCacheEntry{}
	if b, err := os.ReadFile(file); err == nil {
		_ = json.Unmarshal(b, &cache)
	}
	cache[key] = entry
	b, err := json.MarshalIndent(cache, "", "  ")
	if err != nil {
		return file, err
	}
	return file, atomicfile.WriteFile(file, b, 0o644)
}
