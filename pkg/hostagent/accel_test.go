package hostagent

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/hostagent/events"
	"github.com/limactl/limactl/pkg/store"
	"github.com/limactl/limactl/pkg/store/filenames"
)

// accelDriver is a hypervisor whose launches print what the test says on the serial console and run
// under the accelerators the test lists, one per Start.
type accelDriver struct {
	driver.Driver // unused methods panic
	dir           string
	accels        []string // accelerator of each Start; the last repeats
	consoles      []string // serial.log content of each Start
	canFallBack   bool

	mu       sync.Mutex
	starts   int
	kills    int
	disabled []string
	running  chan error
}

func (d *accelDriver) Start(ctx context.Context) (<-chan error, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := min(d.starts, len(d.consoles)-1)
	d.starts++
	if err := os.WriteFile(filepath.Join(d.dir, filenames.SerialLog), []byte(d.consoles[i]), 0o644); err != nil {
		return nil, err
	}
	d.running = make(chan error, 1)
	return d.running, nil
}

func (d *accelDriver) Kill(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.kills++
	if d.running != nil {
		d.running <- nil
		close(d.running)
		d.running = nil
	}
	return nil
}

func (d *accelDriver) Accelerator() (string, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	i := min(d.starts-1, len(d.accels)-1)
	return d.accels[i], d.canFallBack && len(d.disabled) == 0
}

func (d *accelDriver) DisableAccelerator(reason string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.disabled = append(d.disabled, reason)
	return filepath.Join(d.dir, "results.json"), nil
}

// launchWith runs agent.launch against drv and returns the last event and what was logged.
func launchWith(t *testing.T, drv *accelDriver, sshPort int, sigCh chan os.Signal) (<-chan error, events.Status, string) {
	t.Helper()
	t.Setenv("LIMACTL_TEST_SILENT_ACCEL", "400ms")
	var logs bytes.Buffer
	logrus.SetOutput(&logs)
	t.Cleanup(func() { logrus.SetOutput(os.Stderr) })
	a := &agent{inst: &store.Instance{Name: "vm", Dir: drv.dir}, drv: drv, sshPort: sshPort}
	var evs bytes.Buffer
	ew := events.NewWriter(&evs)
	if sigCh == nil {
		sigCh = make(chan os.Signal, 1)
	}
	errCh, err := a.launch(context.Background(), ew, sigCh)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.stopConsole)
	var last events.Status
	_ = ew.Update(func(s *events.Status) { last = *s })
	return errCh, last, logs.String()
}

func TestLaunchFallsBackFromSilentAccelerator(t *testing.T) {
	dir := t.TempDir()
	// The first launch hangs after the kernel's real-mode setup code printed (Debian's earlyprintk);
	// that is no sign of life. The second runs.
	drv := &accelDriver{dir: dir, accels: []string{"kvm", "tcg"}, canFallBack: true,
		consoles: []string{"Probing EDD (edd=off to disable)... ok\r\n", "[    0.000000] Linux version 6.1.0\n"}}
	_, last, logs := launchWith(t, drv, 0, nil)
	if drv.starts != 2 || drv.kills != 1 || len(drv.disabled) != 1 {
		t.Fatalf("starts %d, kills %d, disabled %q; want 2, 1, one verdict", drv.starts, drv.kills, drv.disabled)
	}
	if !strings.Contains(drv.disabled[0], "KVM showed no sign of life") {
		t.Errorf("verdict = %q", drv.disabled[0])
	}
	if last.Accelerator != "tcg" {
		t.Errorf("accelerator event = %q, want tcg", last.Accelerator)
	}
	if n := strings.Count(logs, "level=warning"); n != 1 || !strings.Contains(logs, "LIMA_QEMU_ACCEL=kvm") || !strings.Contains(logs, "results.json") {
		t.Errorf("want one warning naming LIMA_QEMU_ACCEL=kvm and the record; logs:\n%s", logs)
	}
}

func TestLaunchKeepsLiveAccelerator(t *testing.T) {
	t.Run("kernel line", func(t *testing.T) {
		drv := &accelDriver{dir: t.TempDir(), accels: []string{"kvm"}, canFallBack: true,
			consoles: []string{"SeaBIOS\r\n[    0.512345] Run /init as init process\n"}}
		_, last, _ := launchWith(t, drv, 0, nil)
		if drv.starts != 1 || len(drv.disabled) != 0 || last.Accelerator != "kvm" {
			t.Errorf("starts %d, disabled %q, accelerator %q; want 1, none, kvm", drv.starts, drv.disabled, last.Accelerator)
		}
	})
	t.Run("ssh banner", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_, _ = c.Write([]byte("SSH-2.0-OpenSSH_9.2\r\n"))
				c.Close()
			}
		}()
		drv := &accelDriver{dir: t.TempDir(), accels: []string{"kvm"}, canFallBack: true, consoles: []string{""}}
		_, _, _ = launchWith(t, drv, ln.Addr().(*net.TCPAddr).Port, nil)
		if drv.starts != 1 || len(drv.disabled) != 0 {
			t.Errorf("starts %d, disabled %q; want 1, none", drv.starts, drv.disabled)
		}
	})
	t.Run("a port that accepts but says nothing is no sign", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		go func() { // QEMU's user network accepts for a guest that never answers
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
			}
		}()
		drv := &accelDriver{dir: t.TempDir(), accels: []string{"kvm", "tcg"}, canFallBack: true, consoles: []string{""}}
		_, _, _ = launchWith(t, drv, ln.Addr().(*net.TCPAddr).Port, nil)
		if drv.starts != 2 || len(drv.disabled) != 1 {
			t.Errorf("starts %d, disabled %q; want 2, one verdict", drv.starts, drv.disabled)
		}
	})
	t.Run("forced or emulated: no wait", func(t *testing.T) {
		drv := &accelDriver{dir: t.TempDir(), accels: []string{"kvm"}, canFallBack: false, consoles: []string{""}}
		begin := time.Now()
		_, last, _ := launchWith(t, drv, 0, nil)
		if drv.starts != 1 || len(drv.disabled) != 0 || last.Accelerator != "kvm" || last.Progress != nil {
			t.Errorf("starts %d, disabled %q, accelerator %q, progress %+v", drv.starts, drv.disabled, last.Accelerator, last.Progress)
		}
		if time.Since(begin) > 300*time.Millisecond {
			t.Errorf("launch waited %s for a sign of life it does not need", time.Since(begin))
		}
	})
}

func TestLaunchLeavesSignalsAndExitsToTheCaller(t *testing.T) {
	t.Run("signal", func(t *testing.T) {
		drv := &accelDriver{dir: t.TempDir(), accels: []string{"kvm"}, canFallBack: true, consoles: []string{""}}
		sigCh := make(chan os.Signal, 1)
		sigCh <- syscall.SIGINT
		_, _, _ = launchWith(t, drv, 0, sigCh)
		if drv.starts != 1 || len(drv.disabled) != 0 || drv.kills != 1 {
			t.Errorf("starts %d, disabled %q, kills %d; a stop request before any sign of life kills the guest and does not restart it", drv.starts, drv.disabled, drv.kills)
		}
		select {
		case sig := <-sigCh:
			if sig != syscall.SIGINT {
				t.Errorf("signal %v put back, want SIGINT", sig)
			}
		default:
			t.Error("the signal was swallowed")
		}
	})
	t.Run("hypervisor exit", func(t *testing.T) {
		drv := &accelDriver{dir: t.TempDir(), accels: []string{"kvm"}, canFallBack: true, consoles: []string{""}}
		crash := errors.New("QEMU exited unexpectedly")
		go func() {
			time.Sleep(50 * time.Millisecond)
			drv.mu.Lock()
			drv.running <- crash
			close(drv.running)
			drv.running = nil
			drv.mu.Unlock()
		}()
		errCh, _, _ := launchWith(t, drv, 0, nil)
		if drv.starts != 1 || len(drv.disabled) != 0 {
			t.Errorf("starts %d, disabled %q; a crash is not a silent accelerator", drv.starts, drv.disabled)
		}
		if got := <-errCh; !errors.Is(got, crash) {
			t.Errorf("exit value %v, want %v", got, crash)
		}
	})
}

func TestOSLine(t *testing.T) {
	for line, want := range map[string]bool{
		"[    0.000000] Linux version 6.1.0-57-amd64":    true,
		"[   12.345678] systemd[1]: Started ssh.service": true,
		"lima-vm login: ": true,
		"Cloud-init v. 22.4.2 running 'init-local'":       true,
		"Probing EDD (edd=off to disable)... ok":          false,
		"BdsDxe: loading Boot0001 \"UEFI QEMU HARDDISK\"": false,
		"SeaBIOS (version 1.16.2-debian-1.16.2-1)":        false,
		"Booting from ROM..":                              false,
	} {
		if got := osLine(line); got != want {
			t.Errorf("osLine(%q) = %v, want %v", line, got, want)
		}
	}
}

// TestConsoleOSRunning: what the console follower counts, fed as the guest writes it (getty's prompt
// has no newline; GRUB's greeting comes before any kernel).
func TestConsoleOSRunning(t *testing.T) {
	for _, c := range []struct {
		out  string
		want bool
	}{
		{"Welcome to GRUB!\r\n\r\n  Booting `Debian GNU/Linux'\r\n", false},
		{"Probing EDD (edd=off to disable)... ok\r\n", false},
		{"\r\nDebian GNU/Linux 12 lima-vm ttyS0\r\n\r\nlima-vm login: ", true},
		{"[    0.000000] Linux version 6.1.0", false}, // not a whole line yet
		{"[    0.000000] Linux version 6.1.0\n", true},
	} {
		con := NewConsole("")
		con.consume([]byte(c.out))
		if got := con.OSRunning(); got != c.want {
			t.Errorf("after %q: OSRunning() = %v, want %v", c.out, got, c.want)
		}
	}
}
