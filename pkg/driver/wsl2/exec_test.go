package wsl2_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
	"github.com/limactl/limactl/pkg/driver/drivertest"
	"github.com/limactl/limactl/pkg/driver/wsl2"
	"github.com/limactl/limactl/pkg/driver/wsl2/wslfake"
)

// fakeWSLDir returns a directory holding the fake wsl.exe program (hack/wine/fakewsl). On Windows
// (under wine) hack/wine/go-test-windows.sh builds it and names it in FAKEWSL_DIR; elsewhere the test
// builds it natively.
func fakeWSLDir(t *testing.T) string {
	if runtime.GOOS == "windows" {
		dir := os.Getenv("FAKEWSL_DIR")
		if dir == "" {
			t.Skip("FAKEWSL_DIR is not set: run hack/wine/go-test-windows.sh, which builds the fake wsl.exe; this never runs the real wsl.exe")
		}
		return dir
	}
	if testing.Short() {
		t.Skip("builds the fake wsl.exe; skipped with -short")
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command on PATH to build the fake wsl.exe with")
	}
	dir := tempDir(t)
	cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, "wsl.exe"), "github.com/limactl/limactl/hack/wine/fakewsl")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the fake wsl.exe: %v\n%s", err, out)
	}
	return dir
}

// TestExecRunner runs the real ExecRunner (os/exec, wsl.exe looked up on PATH) against the fake
// wsl.exe program: the conformance suite, and the raw exit status and encoding of a failure.
func TestExecRunner(t *testing.T) {
	dir := fakeWSLDir(t)
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	toWSL := testToWSLPath
	newHost := func(t *testing.T) *wslfake.Host {
		state := tempDir(t)
		t.Setenv("FAKEWSL_STATE", state)
		h := &wslfake.Host{Dir: state}
		if err := h.AddDistro(otherDistro, true); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { checkHostUntouched(t, h) })
		return h
	}

	t.Run("Failure", func(t *testing.T) {
		newHost(t)
		inv := wsl2.Plan{Distro: "lima-nosuch"}.Terminate()
		res, err := wsl2.ExecRunner{}.Run(context.Background(), inv)
		if err != nil {
			t.Fatal(err)
		}
		want := wsl2.ExitCode(255) // exit(-1) as the 8 bits a Unix parent sees
		if runtime.GOOS == "windows" {
			want = 0xFFFFFFFF
		}
		if res.Exit != want {
			t.Errorf("exit = %s, want %s", res.Exit, want)
		}
		if enc := wsl2.DetectEncoding(res.Stdout); enc != wsl2.EncodingUTF16LE {
			t.Errorf("the fake wrote %s, want UTF-16LE: %q", enc, res.Stdout)
		}
		err = wsl2.CheckResult(inv, res)
		if !errors.Is(err, driver.ErrNotFound) || !strings.Contains(err.Error(), "There is no distribution with the supplied name.") {
			t.Errorf("CheckResult = %v; want ErrNotFound with the decoded message", err)
		}
	})

	// WSL_UTF8=1 from Invocation.Env reaches the program: a fake that honours it answers in UTF-8.
	t.Run("UTF8Env", func(t *testing.T) {
		newHost(t)
		t.Setenv("FAKEWSL_HONOUR_UTF8", "1")
		inv := wsl2.Plan{Distro: "lima-nosuch"}.Unregister()
		res, err := wsl2.ExecRunner{}.Run(context.Background(), inv)
		if err != nil {
			t.Fatal(err)
		}
		if enc := wsl2.DetectEncoding(res.Stdout); enc != wsl2.EncodingUTF8 {
			t.Errorf("output is %s, want UTF-8: WSL_UTF8=1 did not reach the program", enc)
		}
		if err := wsl2.CheckResult(inv, res); !errors.Is(err, driver.ErrNotFound) {
			t.Errorf("CheckResult = %v, want ErrNotFound", err)
		}
	})

	t.Run("Conformance", func(t *testing.T) {
		drivertest.Run(t, func(t *testing.T) (driver.Driver, drivertest.Harness) {
			newHost(t)
			cfg := newInstance(t, "exec")
			opts := wsl2.Options{ToWSLPath: toWSL}
			return wsl2.NewWithOptions(cfg, opts), drivertest.Harness{
				Sibling:   func() driver.Driver { return wsl2.NewWithOptions(cfg, opts) },
				BaseImage: cfg.BaseImagePath(),
			}
		})
	})

	t.Run("Boot", func(t *testing.T) {
		h := newHost(t)
		cfg := newInstance(t, "execboot")
		d := wsl2.NewWithOptions(cfg, wsl2.Options{ToWSLPath: toWSL})
		ctx := context.Background()
		if err := d.CreateDisk(ctx); err != nil {
			t.Fatal(err)
		}
		errCh, err := d.Start(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if addr, err := d.SSHAddress(ctx); err != nil || !strings.HasPrefix(addr, "172.28.") {
			t.Errorf("SSHAddress = %q, %v", addr, err)
		}
		if err := d.Stop(ctx); err != nil {
			t.Fatal(err)
		}
		if err := <-errCh; err != nil {
			t.Errorf("Start channel after Stop: %v", err)
		}
		p, _ := d.Plan()
		got, err := os.ReadFile(filepath.Join(h.Dir, "lima-execboot.boot.sh"))
		if err != nil || string(got) != p.BootLauncher() {
			t.Errorf("the boot launcher did not reach the distro intact through stdin (%v)", err)
		}
	})
}
