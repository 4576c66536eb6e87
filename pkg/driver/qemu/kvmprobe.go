package qemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/limactl/limactl/pkg/envknob"
	"github.com/limactl/limactl/pkg/limayaml"
)

// ProbeTimeout bounds one probe run. A working accelerator finishes in well under a second (QEMU's
// own start-up included); a hung one never does.
const ProbeTimeout = 3 * time.Second

// probeVersion names the probe guest in the cache key: bump it whenever what the probe checks
// changes, so that verdicts of an older, weaker probe are not trusted. Version 1 only ran a few
// real-mode instructions, which some paravirtualised hosts run while a Linux guest hangs.
const probeVersion = "2-long-mode"

// probeCommand returns the arguments that run the probe guest fw (the default for arch when nil)
// with its stage log written to logPath, the exit status that proves the guest finished, and the
// stages it reports; ok is false for arches without a probe.
func probeCommand(arch limayaml.Arch, accel, cpu, fwPath, logPath string) (args []string, fw []byte, want int, stages probeStages, ok bool) {
	common := []string{
		"-accel", accel, "-cpu", cpu, "-m", "64", "-nodefaults", "-no-user-config", "-display", "none",
		"-no-reboot", // a triple fault ends QEMU instead of re-running the probe
		"-bios", fwPath,
		"-chardev", "file,id=stage,path=" + qemuOptEscape(logPath), "-serial", "chardev:stage",
	}
	switch arch {
	case limayaml.X8664:
		return append([]string{"-machine", "q35"}, append(common, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")...),
			ProbeBIOS(), probeExitValue<<1 | 1, x86Stages, true
	case limayaml.AARCH64:
		return append([]string{"-machine", "virt"}, common...), ProbeFirmwareAarch64(), 0, aarch64Stages, true
	}
	return nil, nil, 0, nil, false
}

// ProbeGuest runs the probe guest for arch (a qemuBinary of that arch) under accel with cpu, for at
// most ProbeTimeout, and returns nil when the guest went all the way from reset to the CPU state a
// Linux kernel runs in (see ProbeBIOS and ProbeFirmwareAarch64), or a *ProbeError that says why not
// and names the last stage the guest reached. Arches without a probe (all but x86_64 and aarch64)
// return nil.
func ProbeGuest(ctx context.Context, qemuBinary string, arch limayaml.Arch, accel, cpu string) error {
	return probeGuest(ctx, qemuBinary, arch, accel, cpu, nil, ProbeTimeout)
}

// probeGuest is ProbeGuest with a firmware image (nil: the default for arch) and a time bound.
func probeGuest(ctx context.Context, qemuBinary string, arch limayaml.Arch, accel, cpu string, fw []byte, timeout time.Duration) error {
	dir, err := os.MkdirTemp("", "lima-accel-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fwPath, logPath := filepath.Join(dir, "probe.bin"), filepath.Join(dir, "stages.log")
	args, defaultFW, want, stages, ok := probeCommand(arch, accel, cpu, fwPath, logPath)
	if !ok {
		return nil
	}
	if fw == nil {
		fw = defaultFW
	}
	if err := os.WriteFile(fwPath, fw, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemuBinary, args...)
	// QEMU pauses, rather than exits, when KVM cannot run the guest: stop waiting at the message.
	stderr := &kvmErrorWatcher{onError: cancel}
	cmd.Stderr = stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	log, _ := os.ReadFile(logPath)
	reached, progress := stages.progress(log)
	status := -1 // killed, or did not start
	var exitErr *exec.ExitError
	if err == nil {
		status = 0
	} else if errors.As(err, &exitErr) {
		status = exitErr.ExitCode()
	}
	stage := stageName(stages, reached)
	switch {
	case stderr.failed():
		// a verdict, not a timeout: the message below says what KVM could not do
	case ctx.Err() == context.DeadlineExceeded:
		return &ProbeError{Reason: fmt.Sprintf("the probe guest %s; no result within %v", progress, timeout), Stage: stage, TimedOut: true}
	case status == want && reached == len(stages):
		return nil
	case status >= 0 && stderr.empty():
		return &ProbeError{Reason: fmt.Sprintf("QEMU exited with status %d before the probe finished: the probe guest %s", status, progress), Stage: stage}
	}
	reason := strings.TrimPrefix(firstLine(stderr.String()), filepath.Base(qemuBinary)+": ")
	if reason == "" {
		reason = err.Error()
	}
	if reached > 0 || stderr.failed() {
		reason += "; the probe guest " + progress
	}
	return &ProbeError{Reason: fmt.Sprintf("%s -accel %s -cpu %s: %s", filepath.Base(qemuBinary), accel, cpu, reason), Stage: stage}
}

func stageName(s probeStages, reached int) string {
	if reached == 0 {
		return ""
	}
	return s[reached-1]
}

// kvmErrorWatcher collects QEMU's stderr and calls onError once QEMU reports that KVM failed to run
// the guest ("KVM internal error. Suberror: 1", "KVM: entry failed, hardware error ...",
// "error: kvm run failed ..."): QEMU then stops the guest and waits, so the probe would otherwise
// only end at its timeout.
type kvmErrorWatcher struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	onError func()
	seen    bool
}

func (w *kvmErrorWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.buf.Len() < 64<<10 {
		w.buf.Write(p)
	}
	if !w.seen {
		s := w.buf.String()
		for _, m := range []string{"KVM internal error", "KVM: entry failed", "kvm run failed"} {
			if i := strings.Index(s, m); i >= 0 && strings.Contains(s[i:], "\n") {
				w.seen = true
				w.onError()
				break
			}
		}
	}
	return len(p), nil
}

func (w *kvmErrorWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

func (w *kvmErrorWatcher) failed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seen
}

func (w *kvmErrorWatcher) empty() bool { return strings.TrimSpace(w.String()) == "" }

// ProbeError says why the probe guest did not finish.
type ProbeError struct {
	// Reason says what went wrong, naming the last stage the probe guest reached.
	Reason string
	// Stage is the last stage the probe guest completed ("entering 32-bit protected mode"), or "".
	Stage string
	// TimedOut: the guest did not finish in time (it may hang, or the host was too busy to tell).
	TimedOut bool
}

func (e *ProbeError) Error() string { return e.Reason }

func firstLine(s string) string {
	first, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(first)
}

// probeCacheEntry is one remembered probe result.
type probeCacheEntry struct {
	OK       bool      `json:"ok"`
	Reason   string    `json:"reason,omitempty"`
	TimedOut bool      `json:"timedOut,omitempty"`
	Time     time.Time `json:"time"`
}

// timeoutTTL limits how long a timed-out probe is believed: a busy host can make a working KVM look
// hung, so that verdict is re-checked daily, while a definite answer (ran, or QEMU refused) holds until
// the QEMU binary or the kernel changes.
const timeoutTTL = 24 * time.Hour

// probeCacheKey identifies what the answer depends on: the probe itself (probeVersion), the QEMU
// binary (path, size, mtime) and the host kernel.
func probeCacheKey(qemuBinary string) (string, error) {
	path, err := exec.LookPath(qemuBinary)
	if err != nil {
		return "", err
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%d\x00%s", probeVersion, path, st.Size(), st.ModTime().UnixNano(), bytes.TrimSpace(kernel)))
	return hex.EncodeToString(sum[:16]), nil
}

func probeCacheFile() (string, error) {
	dir := envknob.LimaCacheHome.Get()
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		dir = filepath.Join(base, "lima")
	}
	return filepath.Join(dir, "qemu-kvm-probe", "results.json"), nil
}

// cachedProbeKVM returns the KVM probe's verdict (nil: KVM works), probing only when no valid cached
// answer exists. Cache problems never fail the choice: the probe just runs again.
func cachedProbeKVM(ctx context.Context, qemuBinary string) error {
	key, kerr := probeCacheKey(qemuBinary)
	file, ferr := probeCacheFile()
	cache := map[string]probeCacheEntry{}
	if kerr == nil && ferr == nil {
		if b, err := os.ReadFile(file); err == nil {
			_ = json.Unmarshal(b, &cache)
		}
		if e, ok := cache[key]; ok && (!e.TimedOut || time.Since(e.Time) < timeoutTTL) {
			if e.OK {
				return nil
			}
			return &ProbeError{Reason: e.Reason + " (cached; delete " + file + " to re-test)", TimedOut: e.TimedOut}
		}
	}
	err := ProbeGuest(ctx, qemuBinary, HostArch(), AccelKVM, "host")
	if ctx.Err() != nil || kerr != nil || ferr != nil {
		return err // an interrupted probe proves nothing; do not remember it
	}
	entry := probeCacheEntry{OK: err == nil, Time: time.Now().UTC()}
	var pe *ProbeError
	if errors.As(err, &pe) {
		entry.Reason, entry.TimedOut = pe.Reason, pe.TimedOut
	} else if err != nil {
		return err // could not even run the probe (no binary?): not a verdict on KVM
	}
	_, _ = recordProbeVerdict(qemuBinary, entry) // fallback.go
	return err
}
