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
	"time"

	"github.com/limactl/limactl/pkg/envknob"
)

// ProbeTimeout bounds one probe run. A working accelerator finishes in well under a second (QEMU's
// own start-up included); a hung one never does.
const ProbeTimeout = 3 * time.Second

// probeExitValue is what the probe guest writes to the isa-debug-exit port; QEMU then exits with
// status (value << 1) | 1.
const probeExitValue = 0x2a

// ProbeBIOS returns a 64 KiB x86 BIOS image whose reset vector (F000:FFF0, the image's last 16 bytes)
// runs `mov al, 0x2a; out 0xf4, al; hlt; jmp hlt`. With `-device isa-debug-exit,iobase=0xf4`, QEMU
// exits with status 85 once the guest executes its first instructions, and never otherwise.
func ProbeBIOS() []byte {
	bios := make([]byte, 64<<10) // QEMU wants a multiple of 64 KiB
	copy(bios[0xfff0:], []byte{0xb0, probeExitValue, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd})
	return bios
}

// ProbeGuest runs the probe BIOS under accel with cpu, for at most ProbeTimeout, and returns nil when
// the guest ran, or why not (QEMU's own error, its exit status, or the timeout). Only x86_64 hosts
// have a probe; elsewhere it returns nil.
func ProbeGuest(ctx context.Context, qemuBinary, accel, cpu string) error {
	if HostArch() != "x86_64" {
		return nil
	}
	dir, err := os.MkdirTemp("", "lima-accel-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bios := filepath.Join(dir, "probe.bin")
	if err := os.WriteFile(bios, ProbeBIOS(), 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemuBinary,
		"-accel", accel, "-machine", "q35", "-cpu", cpu, "-m", "16",
		"-nodefaults", "-no-user-config", "-display", "none",
		"-bios", bios, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	want := probeExitValue<<1 | 1
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return &ProbeError{Reason: fmt.Sprintf("no result within %v", ProbeTimeout), TimedOut: true}
	case errors.As(err, &exitErr) && exitErr.ExitCode() == want:
		return nil
	case err == nil:
		return &ProbeError{Reason: "QEMU exited without the guest running"}
	}
	reason := strings.TrimPrefix(firstLine(stderr.String()), filepath.Base(qemuBinary)+": ")
	if reason == "" {
		reason = err.Error()
	}
	return &ProbeError{Reason: fmt.Sprintf("%s -accel %s -cpu %s: %s", filepath.Base(qemuBinary), accel, cpu, reason)}
}

// ProbeError says why the probe guest did not run.
type ProbeError struct {
	Reason string
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

// probeCacheKey identifies what the answer depends on: the QEMU binary (path, size, mtime) and the
// host kernel.
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
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%s", path, st.Size(), st.ModTime().UnixNano(), bytes.TrimSpace(kernel)))
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
	err := ProbeGuest(ctx, qemuBinary, AccelKVM, "host")
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
	cache[key] = entry
	if b, jerr := json.MarshalIndent(cache, "", "  "); jerr == nil {
		if os.MkdirAll(filepath.Dir(file), 0o755) == nil {
			tmp := file + ".tmp"
			if os.WriteFile(tmp, b, 0o644) == nil {
				_ = os.Rename(tmp, file)
			}
		}
	}
	return err
}
