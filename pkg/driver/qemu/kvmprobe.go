package qemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
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
	"github.com/limactl/limactl/pkg/limayaml"
)

// ProbeTimeout bounds one probe run. A working accelerator finishes in well under a second (QEMU's
// own start-up included); a hung one never does.
const ProbeTimeout = 3 * time.Second

// probeExitValue is what the x86 probe guest writes to the isa-debug-exit port; QEMU then exits with
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

// ProbeFirmwareAarch64 returns firmware for the aarch64 virt machine that asks PSCI to power off
// (`mov w0, #0x84000008; hvc #0; b .`): QEMU exits with status 0 once the guest runs, and never
// otherwise. The virt machine's PSCI conduit is hvc both under KVM and under TCG without EL2/EL3.
func ProbeFirmwareAarch64() []byte {
	words := []uint32{
		0x52800100, // movz w0, #0x0008
		0x72b08000, // movk w0, #0x8400, lsl #16
		0xd4000002, // hvc  #0
		0x14000000, // b    .
	}
	fw := make([]byte, 4*len(words))
	for i, w := range words {
		binary.LittleEndian.PutUint32(fw[4*i:], w)
	}
	return fw
}

// probeCommand returns the arguments that run the probe guest for arch, its firmware, and the exit
// status that proves the guest ran; ok is false for arches without a probe.
func probeCommand(arch limayaml.Arch, accel, cpu, fwPath string) (args []string, fw []byte, want int, ok bool) {
	common := []string{"-accel", accel, "-cpu", cpu, "-m", "64", "-nodefaults", "-no-user-config", "-display", "none", "-bios", fwPath}
	switch arch {
	case limayaml.X8664:
		return append([]string{"-machine", "q35"}, append(common, "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04")...),
			ProbeBIOS(), probeExitValue<<1 | 1, true
	case limayaml.AARCH64:
		return append([]string{"-machine", "virt"}, common...), ProbeFirmwareAarch64(), 0, true
	}
	return nil, nil, 0, false
}

// ProbeGuest runs the probe guest for arch (a qemuBinary of that arch) under accel with cpu, for at
// most ProbeTimeout, and returns nil when the guest ran, or why not (QEMU's own error, its exit status,
// or the timeout). Arches without a probe (all but x86_64 and aarch64) return nil.
func ProbeGuest(ctx context.Context, qemuBinary string, arch limayaml.Arch, accel, cpu string) error {
	dir, err := os.MkdirTemp("", "lima-accel-probe-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	fwPath := filepath.Join(dir, "probe.bin")
	args, fw, want, ok := probeCommand(arch, accel, cpu, fwPath)
	if !ok {
		return nil
	}
	if err := os.WriteFile(fwPath, fw, 0o600); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, qemuBinary, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case ctx.Err() == context.DeadlineExceeded:
		return &ProbeError{Reason: fmt.Sprintf("no result within %v", ProbeTimeout), TimedOut: true}
	case want == 0 && err == nil:
		return nil
	case want != 0 && errors.As(err, &exitErr) && exitErr.ExitCode() == want:
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
