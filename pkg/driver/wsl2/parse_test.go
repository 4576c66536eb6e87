package wsl2

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/driver"
)

func TestParseList(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		want []Distro
	}{
		{"english", "  NAME            STATE           VERSION\n* Ubuntu          Running         2\n  lima-default    Stopped         2\n  Legacy          Stopped         1\n",
			[]Distro{{"Ubuntu", StateRunning, 2, true}, {"lima-default", StateStopped, 2, false}, {"Legacy", StateStopped, 1, false}}},
		{"german two-word state", "  NAME      STATUS           VERSION\n* Ubuntu    Wird ausgeführt  2\n  lima-x    Beendet          2\n",
			[]Distro{{"Ubuntu", "Wird ausgeführt", 2, true}, {"lima-x", "Beendet", 2, false}}},
		{"chinese header", "  名称      状态           版本\n* Ubuntu    Running         2\n", []Distro{{"Ubuntu", StateRunning, 2, true}}},
		{"transient states", "  NAME STATE VERSION\n  a Installing 2\n  b Converting 2\n  c Uninstalling 2\n",
			[]Distro{{"a", StateInstalling, 2, false}, {"b", StateConverting, 2, false}, {"c", StateUninstalling, 2, false}}},
		{"no distros", "Windows Subsystem for Linux has no installed distributions.\nUse 'wsl.exe --list --online' to list available distributions\n\nError code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND\n", nil},
		{"default marker without space", "*Ubuntu Running 2\n", []Distro{{"Ubuntu", StateRunning, 2, true}}},
		{"empty", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, ParseList(tc.in)); diff != "" {
				t.Errorf("ParseList (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRecordedOutput reads wsl.exe output stored as raw UTF-16LE bytes, as wsl.exe writes it.
func TestRecordedOutput(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if DetectEncoding(b) != EncodingUTF16LE {
			t.Fatalf("%s is not UTF-16LE", name)
		}
		return DecodeOutput(b)
	}
	if diff := cmp.Diff([]Distro{{"Ubuntu-22.04", StateRunning, 2, true}, {"lima-default", StateStopped, 2, false}, {"docker-desktop", StateStopped, 2, false}},
		ParseList(read("list-verbose.utf16le"))); diff != "" {
		t.Errorf("list-verbose (-want +got):\n%s", diff)
	}
	if got := ParseList(read("list-verbose-bom-de.utf16le")); len(got) != 2 || got[0].State != "Wird ausgeführt" || got[0].State.Known() {
		t.Errorf("list-verbose-bom-de = %+v", got)
	}
	for file, want := range map[string]string{
		"no-distros.utf16le":     "WSL_E_DEFAULT_DISTRO_NOT_FOUND",
		"not-found.utf16le":      "WSL_E_DISTRO_NOT_FOUND",
		"not-found-zh.utf16le":   "WSL_E_DISTRO_NOT_FOUND",
		"import-exists.utf16le":  "ERROR_ALREADY_EXISTS",
		"no-vm-platform.utf16le": "WSL_E_VIRTUAL_MACHINE_PLATFORM_REQUIRED",
		"old-hresult.utf16le":    "0x8007019e",
	} {
		if _, code := ParseErrorCode(read(file)); code != want {
			t.Errorf("%s: code = %q, want %q", file, code, want)
		}
	}
}

func TestParseErrorCode(t *testing.T) {
	for _, tc := range []struct {
		in, full, code string
		kind           error
	}{
		{"There is no distribution with the supplied name.\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND", "Wsl/Service/WSL_E_DISTRO_NOT_FOUND", "WSL_E_DISTRO_NOT_FOUND", driver.ErrNotFound},
		{"Error code: Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND", "Wsl/WSL_E_DEFAULT_DISTRO_NOT_FOUND", "WSL_E_DEFAULT_DISTRO_NOT_FOUND", driver.ErrNotFound},
		{"WSL_E_DISTRO_NOT_FOUND", "WSL_E_DISTRO_NOT_FOUND", "WSL_E_DISTRO_NOT_FOUND", driver.ErrNotFound},
		{"Error code: Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS", "Wsl/Service/RegisterDistro/ERROR_ALREADY_EXISTS", "ERROR_ALREADY_EXISTS", driver.ErrAlreadyExists},
		{"Error code: Wsl/Service/CreateInstance/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED", "Wsl/Service/CreateInstance/CreateVm/HCS/HCS_E_HYPERV_NOT_INSTALLED", "HCS_E_HYPERV_NOT_INSTALLED", driver.ErrUnsupported},
		{"WslRegisterDistribution failed with error: 0x8007019e", "0x8007019e", "0x8007019e", driver.ErrUnsupported},
		{"Error code: Wsl/E_INVALIDARG", "Wsl/E_INVALIDARG", "E_INVALIDARG", nil},
		{"everything is fine", "", "", nil},
	} {
		full, code := ParseErrorCode(tc.in)
		if full != tc.full || code != tc.code {
			t.Errorf("ParseErrorCode(%q) = %q, %q; want %q, %q", tc.in, full, code, tc.full, tc.code)
		}
		if kind := ErrorKind(code); !errors.Is(kind, tc.kind) {
			t.Errorf("ErrorKind(%q) = %v, want %v", code, kind, tc.kind)
		}
	}
}

func TestExitCodeString(t *testing.T) {
	for code, want := range map[ExitCode]string{
		0:          "0",
		1:          "1",
		255:        "255",
		0xFFFFFFFF: "4294967295 (0xFFFFFFFF, -1)",
		0x8007019E: "2147942814 (0x8007019E, -2147024482)",
	} {
		if got := code.String(); got != want {
			t.Errorf("ExitCode(%d).String() = %q, want %q", uint32(code), got, want)
		}
	}
}

func TestCheckResult(t *testing.T) {
	inv := Plan{Distro: "lima-x"}.Terminate()
	if err := CheckResult(inv, Result{}); err != nil {
		t.Errorf("exit 0: %v", err)
	}
	err := CheckResult(inv, Result{Exit: 0xFFFFFFFF, Stdout: EncodeUTF16LE("There is no distribution with the supplied name.\nError code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND\n")})
	if !errors.Is(err, driver.ErrNotFound) {
		t.Errorf("error %v does not wrap ErrNotFound", err)
	}
	want := "wsl.exe --terminate lima-x exited with 4294967295 (0xFFFFFFFF, -1): There is no distribution with the supplied name. Error code: Wsl/Service/WSL_E_DISTRO_NOT_FOUND"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v\nwant    %s", err, want)
	}
	noDistros := CheckResult(Plan{}.List(), Result{Exit: 0xFFFFFFFF, Stdout: EncodeUTF16LE("Windows Subsystem for Linux has no installed distributions.\n")})
	if !IsNoDistros(noDistros) {
		t.Errorf("IsNoDistros(%v) = false", noDistros)
	}
	if IsNoDistros(err) {
		t.Errorf("IsNoDistros(%v) = true", err)
	}
}

func TestParseGuestIP(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"2: eth0    inet 172.20.1.2/20 brd 172.20.15.255 scope global eth0\\       valid_lft forever preferred_lft forever\n", "172.20.1.2"},
		{"172.23.4.5 10.0.0.9 \n", "172.23.4.5"},
		{"127.0.0.1 172.23.4.5\n", "172.23.4.5"},
		{"fe80::1 192.168.1.7\n", "192.168.1.7"},
	} {
		got, err := ParseGuestIP(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseGuestIP(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, in := range []string{"", "Device \"eth0\" does not exist.\n", "127.0.0.1\n"} {
		if got, err := ParseGuestIP(in); err == nil {
			t.Errorf("ParseGuestIP(%q) = %q; want an error", in, got)
		}
	}
}
