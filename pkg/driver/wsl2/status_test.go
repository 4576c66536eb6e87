package wsl2

import (
	"context"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/limactl/limactl/pkg/driver"
)

// scriptedRunner answers each invocation (keyed by its arguments) with a fixed result.
type scriptedRunner map[string]Result

func (r scriptedRunner) Run(_ context.Context, inv Invocation) (Result, error) {
	if res, ok := r[strings.Join(inv.Args, " ")]; ok {
		return res, nil
	}
	return Result{}, errors.New("unexpected invocation " + inv.String())
}

func (r scriptedRunner) Start(inv Invocation, _ io.Writer) (Process, error) {
	return nil, errors.New("unexpected start of " + inv.String())
}

func listing(rows string) Result {
	return Result{Stdout: EncodeUTF16LE("  NAME STATE VERSION\n" + rows)}
}

func TestStatus(t *testing.T) {
	noDistros := Result{Exit: 0xFFFFFFFF, Stdout: EncodeUTF16LE("Windows Subsystem for Linux has no installed distributions.\nError code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND\n")}
	for _, tc := range []struct {
		name   string
		runner scriptedRunner
		want   driver.Status
		err    bool
	}{
		{"running", scriptedRunner{"--list --verbose": listing("* Ubuntu Running 2\n  lima-x Running 2\n")}, driver.StatusRunning, false},
		{"name case", scriptedRunner{"--list --verbose": listing("  LIMA-X Running 2\n")}, driver.StatusRunning, false},
		{"stopped", scriptedRunner{"--list --verbose": listing("* Ubuntu Running 2\n  lima-x Stopped 2\n")}, driver.StatusStopped, false},
		{"other distros only", scriptedRunner{"--list --verbose": listing("* lima-xy Running 2\n")}, driver.StatusStopped, false},
		{"no distros", scriptedRunner{"--list --verbose": noDistros}, driver.StatusStopped, false},
		{"installing", scriptedRunner{"--list --verbose": listing("  lima-x Installing 2\n")}, driver.StatusBroken, false},
		{"uninstalling", scriptedRunner{"--list --verbose": listing("  lima-x Uninstalling 2\n")}, driver.StatusBroken, false},
		{"translated running", scriptedRunner{
			"--list --verbose":         {Stdout: []byte("  NAME STATUS VERSION\n  lima-x En cours d'exécution 2\n")},
			"--list --running --quiet": {Stdout: EncodeUTF16LE("lima-x\n")},
		}, driver.StatusRunning, false},
		{"translated stopped", scriptedRunner{
			"--list --verbose":         {Stdout: []byte("  NAME STATUS VERSION\n  lima-x Arrêté 2\n  Ubuntu En cours d'exécution 2\n")},
			"--list --running --quiet": {Stdout: EncodeUTF16LE("Ubuntu\n")},
		}, driver.StatusStopped, false},
		{"wsl.exe fails", scriptedRunner{"--list --verbose": {Exit: 0xFFFFFFFF, Stdout: EncodeUTF16LE("Error code: Wsl/Service/E_UNEXPECTED\n")}}, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := NewWithOptions(driver.Config{Name: "x", InstanceDir: `C:\l\x`}, Options{Runner: tc.runner})
			got, err := d.Status(context.Background())
			if (err != nil) != tc.err || got != tc.want {
				t.Errorf("Status = %q, %v; want %q (error: %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

func TestValidateWithoutWSL(t *testing.T) {
	d := NewWithOptions(driver.Config{Name: "x", InstanceDir: `C:\l\x`}, Options{Runner: ExecRunner{Exe: "no-such-wsl-for-limactl-tests.exe"}})
	err := d.Validate(context.Background())
	if !errors.Is(err, driver.ErrUnsupported) || !strings.Contains(err.Error(), "wsl --install") {
		t.Errorf("Validate without wsl.exe = %v; want ErrUnsupported saying how to install WSL", err)
	}
	t.Log(err)
}
