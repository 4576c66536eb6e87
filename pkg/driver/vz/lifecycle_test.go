package vz

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/limayaml"
	"github.com/limactl/limactl/pkg/store/filenames"
)

func startedDriver(t *testing.T, hv *fakeHypervisor, cfg driver.Config) (*Driver, <-chan error) {
	t.Helper()
	ctx := context.Background()
	d := NewWithOptions(cfg, Options{Hypervisor: hv, Host: testHost()})
	if err := d.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Kill(context.Background()) })
	return d, errCh
}

func TestStopForcesWhenGuestIgnoresPowerButton(t *testing.T) {
	hv := &fakeHypervisor{ignoreRequestStop: true}
	cfg := newInstance(t)
	cfg.StopTimeout = 10 * time.Millisecond
	d, errCh := startedDriver(t, hv, cfg)
	if err := d.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := <-errCh; err != nil {
		t.Errorf("Start channel after a forced Stop = %v, want nil", err)
	}
	req, forced := hv.last().counts()
	if req != 1 || forced != 1 {
		t.Errorf("RequestStop called %d times and Stop %d times, want 1 and 1", req, forced)
	}
	if exists(d.pidFile()) {
		t.Error("vz.pid is left after Stop")
	}
}

func TestGracefulStopDoesNotForce(t *testing.T) {
	hv := &fakeHypervisor{}
	d, errCh := startedDriver(t, hv, newInstance(t))
	if err := d.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := <-errCh; err != nil {
		t.Errorf("Start channel = %v, want nil", err)
	}
	if req, forced := hv.last().counts(); req != 1 || forced != 0 {
		t.Errorf("RequestStop called %d times and Stop %d times, want 1 and 0", req, forced)
	}
}

func TestUnexpectedErrorStateIsReported(t *testing.T) {
	hv := &fakeHypervisor{}
	d, errCh := startedDriver(t, hv, newInstance(t))
	hv.last().set(StateError)
	err := <-errCh
	if err == nil || !strings.Contains(err.Error(), filenames.SerialVirtLog) {
		t.Fatalf("Start channel after an Error state = %v, want an error pointing at serialv.log", err)
	}
	if st, _ := d.Status(context.Background()); st != driver.StatusStopped {
		t.Errorf("Status after the VM failed = %s, want Stopped", st)
	}
}

func TestGuestPowerOffIsNotAnError(t *testing.T) {
	hv := &fakeHypervisor{}
	_, errCh := startedDriver(t, hv, newInstance(t))
	hv.last().set(StateStopped)
	if err := <-errCh; err != nil {
		t.Fatalf("Start channel after the guest powered off = %v, want nil", err)
	}
}

func TestCreateFiles(t *testing.T) {
	ctx := context.Background()
	cfg := newInstance(t)
	d := NewWithOptions(cfg, Options{Hypervisor: &fakeHypervisor{}, Host: testHost()})
	if err := d.Create(ctx); err != nil {
		t.Fatal(err)
	}
	id, err := os.ReadFile(filepath.Join(cfg.InstanceDir, filenames.VZIdentifier))
	if err != nil || string(id) != "fake-machine-identifier" {
		t.Errorf("vz-identifier = %q, %v", id, err)
	}
	if !exists(filepath.Join(cfg.InstanceDir, filenames.VZEfi)) {
		t.Error("Create made no vz-efi for an EFI boot")
	}

	// Direct kernel boot needs no EFI variable store.
	cfg = newInstance(t)
	cfg.Config.Images[0].Kernel = &limayaml.Kernel{File: limayaml.File{Location: "https://example.com/vmlinuz"}}
	d = NewWithOptions(cfg, Options{Hypervisor: &fakeHypervisor{}, Host: testHost()})
	if err := d.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(cfg.InstanceDir, filenames.VZEfi)) {
		t.Error("Create made vz-efi for a direct kernel boot")
	}
	if err := d.Delete(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(filepath.Join(cfg.InstanceDir, filenames.VZIdentifier)) {
		t.Error("Delete left vz-identifier")
	}
}

func TestValidateWithoutFramework(t *testing.T) {
	if runtime.GOOS == "darwin" {
		t.Skip("on macOS the framework may be linked in")
	}
	err := New(newInstance(t)).Validate(context.Background())
	if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "vmType: qemu") {
		t.Fatalf("Validate off macOS = %v, want ErrUnsupported advising qemu", err)
	}
	// Create needs the framework too, and says so.
	if err := New(newInstance(t)).Create(context.Background()); !errors.Is(err, driver.ErrUnsupported) {
		t.Fatalf("Create off macOS = %v, want ErrUnsupported", err)
	}
}

func TestSSHForwarder(t *testing.T) {
	hv := &fakeHypervisor{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close() // free for the forwarder; a race with another process here only fails this test
	cfg := newInstance(t)
	cfg.SSHLocalPort = port
	d, errCh := startedDriver(t, hv, cfg)
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		t.Fatalf("dialing the forwarder: %v", err)
	}
	if _, err := conn.Write([]byte("SSH-2.0-test\r\n")); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || line != "SSH-2.0-test\r\n" {
		t.Fatalf("echo through the forwarder = %q, %v", line, err)
	}
	conn.Close()
	if err := d.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-errCh
	if c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port)); err == nil {
		c.Close()
		t.Error("the forwarder still listens after Stop")
	}
}

func TestBootScripts(t *testing.T) {
	y := baseConfig(limayaml.AARCH64)
	y.VMOpts.VZ.Rosetta = limayaml.Rosetta{Enabled: ptr(true), BinFmt: ptr(true)}
	arm := armHost()
	d := NewWithOptions(cfgFor(y), Options{Host: &arm})
	script := string(d.BootScripts()[RosettaBootScript])
	for _, want := range []string{"mount -t virtiofs vz-rosetta /mnt/lima-rosetta", "binfmt_misc/register", `\x7fELF`, "/mnt/lima-rosetta/rosetta:OCF"} {
		if !strings.Contains(script, want) {
			t.Errorf("rosetta boot script lacks %q:\n%s", want, script)
		}
	}
	y.VMOpts.VZ.Rosetta.BinFmt = ptr(false)
	if script := string(d.BootScripts()[RosettaBootScript]); strings.Contains(script, "binfmt") {
		t.Errorf("binfmt registered although vmOpts.vz.rosetta.binfmt is false:\n%s", script)
	}
	y.VMOpts.VZ.Rosetta.Enabled = ptr(false)
	if got := d.BootScripts(); got != nil {
		t.Errorf("BootScripts with Rosetta off = %v, want nil", got)
	}
	intel := intelHost()
	y.VMOpts.VZ.Rosetta.Enabled = ptr(true)
	if got := NewWithOptions(cfgFor(y), Options{Host: &intel}).BootScripts(); got != nil {
		t.Errorf("BootScripts on an Intel host = %v, want nil", got)
	}
}

// The host agent holds the VM; `limactl list` and `limactl stop` are other processes. This test runs
// a helper process (this test binary) that starts a fake VM and stops it on SIGINT, like the host agent.

const helperEnv = "VZ_TEST_HOSTAGENT_DIR"

func TestHelperHostAgent(t *testing.T) {
	dir := os.Getenv(helperEnv)
	if dir == "" {
		t.Skip("helper process for TestOtherProcess")
	}
	cfg := newInstanceIn(t, dir)
	d := NewWithOptions(cfg, Options{Hypervisor: &fakeHypervisor{}, Host: testHost()})
	ctx := context.Background()
	if err := d.Create(ctx); err != nil {
		t.Fatal(err)
	}
	if err := d.CreateDisk(ctx); err != nil {
		t.Fatal(err)
	}
	errCh, err := d.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- <-errCh }()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt)
	os.Stdout.WriteString("ready\n")
	select {
	case <-sig:
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		<-stopped
	case err := <-stopped:
		t.Fatalf("the VM ended by itself: %v", err)
	}
}

func TestOtherProcess(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the host agent is signalled with SIGINT, which Windows lacks; vz runs on macOS only")
	}
	for _, how := range []string{"Stop", "Kill"} {
		t.Run(how, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "vm1")
			// The trailing argument names the instance directory, as a host agent's --pidfile does:
			// vz.pid is only believed when its process is one of the instance's.
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHostAgent$", "-test.v", "--", filepath.Join(dir, "ha.pid"))
			cmd.Env = append(os.Environ(), helperEnv+"="+dir)
			out, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			t.Cleanup(func() { _ = cmd.Process.Kill() })
			if !waitLine(out, "ready") {
				t.Fatal("the helper host agent did not start its VM")
			}
			go func() { _, _ = io.Copy(io.Discard, out) }()

			cfg := driver.Config{Name: "vm1", InstanceDir: dir, Config: baseConfig(limayaml.GoArchToLima(runtime.GOARCH))}
			d := NewWithOptions(cfg, Options{Hypervisor: &fakeHypervisor{}, Host: testHost()})
			ctx := context.Background()
			if st, err := d.Status(ctx); err != nil || st != driver.StatusRunning {
				t.Fatalf("Status from another process = %s, %v; want Running", st, err)
			}
			if _, err := d.Start(ctx); !errors.Is(err, driver.ErrAlreadyRunning) {
				t.Errorf("Start from another process = %v, want ErrAlreadyRunning", err)
			}
			if _, err := d.GuestAgentConn(ctx); !errors.Is(err, driver.ErrUnsupported) {
				t.Errorf("GuestAgentConn from another process = %v, want ErrUnsupported", err)
			}
			if how == "Stop" {
				err = d.Stop(ctx)
			} else {
				err = d.Kill(ctx)
			}
			if err != nil {
				t.Fatalf("%s: %v", how, err)
			}
			werr := <-exited
			if how == "Stop" && werr != nil {
				t.Errorf("the helper host agent exited with %v after SIGINT, want a clean exit", werr)
			}
			if st, _ := d.Status(ctx); st != driver.StatusStopped {
				t.Errorf("Status after %s = %s, want Stopped", how, st)
			}
			if exists(filepath.Join(dir, filenames.PIDFile(Name))) {
				t.Errorf("vz.pid left after %s", how)
			}
		})
	}
}

func waitLine(r io.Reader, want string) bool {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) == want {
			return true
		}
	}
	return false
}
