package qemu

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/limayaml"
)

// probeBuild says how probe/<arch>.S becomes probe/<arch>.bin with binutils.
type probeBuild struct {
	arch     limayaml.Arch
	prefix   string // of the cross binutils
	goarch   string // where the unprefixed binutils target arch
	as, ld   []string
	sections []string
}

var probeBuilds = []probeBuild{
	{
		arch: limayaml.X8664, prefix: "x86_64-linux-gnu-", goarch: "amd64",
		as: []string{"--64"},
		// The code ends at the top of the BIOS ROM: the reset vector is its last 16 bytes.
		ld:       []string{"-m", "elf_x86_64", "-Ttext=0xff800", "--section-start=.reset=0xffff0"},
		sections: []string{".text", ".reset"},
	},
	{
		arch: limayaml.AARCH64, prefix: "aarch64-linux-gnu-", goarch: "arm64",
		ld:       []string{"-Ttext=0"}, // the flash at address 0
		sections: []string{".text"},
	},
}

func (b probeBuild) tool(t *testing.T, name string) string {
	if p, err := exec.LookPath(b.prefix + name); err == nil {
		return p
	}
	if runtime.GOARCH == b.goarch {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := fmt.Sprintf("%s%s is not installed (Debian: binutils-%s)", b.prefix, name, strings.TrimSuffix(strings.ReplaceAll(b.prefix, "_", "-"), "-"))
	if *update {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// The committed probe images must be exactly what their assembly source makes: the source is what
// reviewers read. With -update this rewrites them.
func TestProbeImagesMatchSource(t *testing.T) {
	for _, b := range probeBuilds {
		t.Run(b.arch, func(t *testing.T) {
			as, ld, objcopy := b.tool(t, "as"), b.tool(t, "ld"), b.tool(t, "objcopy")
			dir := t.TempDir()
			obj, elf, bin := filepath.Join(dir, "probe.o"), filepath.Join(dir, "probe.elf"), filepath.Join(dir, "probe.bin")
			src := filepath.Join("probe", b.arch+".S")
			run := func(name string, args ...string) {
				out, err := exec.Command(name, args...).CombinedOutput()
				if err != nil || len(out) > 0 {
					t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
				}
			}
			run(as, append(b.as, "-o", obj, src)...)
			run(ld, append(b.ld, "-nostdlib", "--build-id=none", "-e", "0", "-o", elf, obj)...)
			objArgs := []string{"-O", "binary"}
			for _, s := range b.sections {
				objArgs = append(objArgs, "-j", s)
			}
			run(objcopy, append(objArgs, elf, bin)...)
			fresh, err := os.ReadFile(bin)
			if err != nil {
				t.Fatal(err)
			}
			committed := filepath.Join("probe", b.arch+".bin")
			if *update {
				if err := os.WriteFile(committed, fresh, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			old, err := os.ReadFile(committed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(old, fresh) {
				t.Fatalf("%s differs from a fresh assembly of %s (%d vs %d bytes); run go generate ./pkg/driver/qemu", committed, src, len(old), len(fresh))
			}
		})
	}
	// What the images embedded in the binary are made of.
	if bios := ProbeBIOS(); len(bios) != 64<<10 || !bytes.Equal(bios[len(bios)-len(probeX8664):], probeX8664) {
		t.Errorf("ProbeBIOS is not the x86 probe at the top of 64 KiB")
	}
}

// stopAfter returns a copy of a probe image patched to halt after stage n instead of going on.
func stopAfter(t *testing.T, image []byte, n int) []byte {
	t.Helper()
	marker := []byte("lima-probe-stop-after:")
	i := bytes.Index(image, marker)
	if i < 0 || image[i+len(marker)] != 0xff {
		t.Fatal("the probe image has no stop-after byte")
	}
	image = bytes.Clone(image)
	image[i+len(marker)] = byte('0' + n)
	return image
}

func probeQEMU(t *testing.T, arch limayaml.Arch) string {
	t.Helper()
	bin, err := exec.LookPath(BinaryName(arch))
	if err != nil {
		t.Skipf("%s is not installed", BinaryName(arch))
	}
	return bin
}

// A probe guest that stops half-way must fail, and say where it stopped. All the variants run at once:
// each halts within a few milliseconds of QEMU's start-up and then idles until its timeout.
func TestProbeGuestStoppedHalfWay(t *testing.T) {
	// Every variant hangs by design, so the test always lasts this long. It must leave a dozen QEMUs
	// started at once on a busy 2-core host time to reach their stage: 2 s once failed at load 8.
	const timeout = 8 * time.Second
	for _, tc := range []struct {
		arch   limayaml.Arch
		image  []byte
		stages probeStages
	}{
		{limayaml.X8664, ProbeBIOS(), x86Stages},
		{limayaml.AARCH64, ProbeFirmwareAarch64(), aarch64Stages},
	} {
		t.Run(tc.arch, func(t *testing.T) {
			t.Parallel()
			bin := probeQEMU(t, tc.arch)
			errs := make([]error, len(tc.stages)+1)
			var wg sync.WaitGroup
			for n := 1; n <= len(tc.stages); n++ {
				image := stopAfter(t, tc.image, n)
				wg.Add(1)
				go func() {
					defer wg.Done()
					errs[n] = probeGuest(context.Background(), bin, tc.arch, AccelTCG, "max", image, timeout)
				}()
			}
			wg.Wait()
			for n := 1; n <= len(tc.stages); n++ {
				var pe *ProbeError
				if !errors.As(errs[n], &pe) {
					t.Errorf("stopped after stage %d: err = %v, want a ProbeError", n, errs[n])
					continue
				}
				next := "signalling success"
				if n < len(tc.stages) {
					next = tc.stages[n]
				}
				want := fmt.Sprintf("stopped after %s (before %s)", tc.stages[n-1], next)
				if !pe.TimedOut || pe.Stage != tc.stages[n-1] || !strings.Contains(pe.Reason, want) {
					t.Errorf("stopped after stage %d: %+v, want a timeout saying %q", n, pe, want)
				}
			}
		})
	}
}

func TestProbeStagesProgress(t *testing.T) {
	s := probeStages{"starting", "entering protected mode", "turning on paging"}
	for _, tt := range []struct {
		log, want string
		reached   int
	}{
		{"", "did not report its first stage (starting)", 0},
		{"12", "stopped after entering protected mode (before turning on paging)", 2},
		{"123", "stopped after turning on paging (before signalling success)", 3},
		{"12!", "took an unexpected exception after entering protected mode, while turning on paging", 2},
		{"1?", "got a wrong result after starting, while entering protected mode", 1},
		{"!", "took an unexpected exception while starting", 0},
		{"1212\r\nx9", "stopped after entering protected mode (before turning on paging)", 2},
	} {
		reached, got := s.progress([]byte(tt.log))
		if got != tt.want || reached != tt.reached {
			t.Errorf("progress(%q) = %d, %q; want %d, %q", tt.log, reached, got, tt.reached, tt.want)
		}
	}
}

// QEMU pauses the guest when KVM fails to run it; the watcher must end the wait at the message.
func TestKVMErrorWatcher(t *testing.T) {
	called := 0
	w := &kvmErrorWatcher{onError: func() { called++ }}
	fmt.Fprint(w, "KVM internal err")
	if w.failed() {
		t.Fatal("failed before the line was complete")
	}
	fmt.Fprint(w, "or. Suberror: 1\nextra data[0]: 0x1\n")
	fmt.Fprint(w, "emulation failure\n")
	if !w.failed() || called != 1 || firstLine(w.String()) != "KVM internal error. Suberror: 1" {
		t.Fatalf("failed=%v called=%d first line %q", w.failed(), called, firstLine(w.String()))
	}
}

// A verdict of the real-mode-only probe (version 1) must not be trusted: its cache key differs.
func TestProbeCacheKeyNamesTheProbeVersion(t *testing.T) {
	bin, err := os.Executable() // any existing file stands in for the QEMU binary
	if err != nil {
		t.Fatal(err)
	}
	key, err := probeCacheKey(bin)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(bin)
	if err != nil {
		t.Fatal(err)
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	v1 := sha256.Sum256(fmt.Appendf(nil, "%s\x00%d\x00%d\x00%s", bin, st.Size(), st.ModTime().UnixNano(), bytes.TrimSpace(kernel)))
	if key == hex.EncodeToString(v1[:16]) {
		t.Fatal("the cache key is the one the version 1 probe used")
	}
}
