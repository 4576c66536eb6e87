package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/limactl/limactl/pkg/limayaml"
)

var errSentinel = errors.New("sentinel")

func TestReportConfigErrorsKeepsContext(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	data := []byte("cpus: 0\nmemory: lots\n")
	ve := limayaml.ValidationErrors{
		{Field: "cpus", Msg: "must be at least 1, got 0"},
		{Field: "memory", Msg: `cannot parse "lots" as a size`},
	}
	err := fmt.Errorf("outer (%w): %w", errSentinel, ve)
	got := reportConfigErrors("my.yaml", data, err)
	want := "outer (sentinel): my.yaml: 2 errors; fix them and run `limactl validate my.yaml` again"
	if got.Error() != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(got, errSentinel) {
		t.Error("errors.Is lost the wrapped sentinel")
	}
	if fes := limayaml.FieldErrors(got); len(fes) != 2 || fes[1].Error() != "my.yaml:2:9: field `memory`: cannot parse \"lots\" as a size" {
		t.Errorf("FieldErrors not located: %v", fes)
	}
}

func TestReportConfigErrorsSingle(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	err := limayaml.ValidationErrors{{Field: "ssh.localPort", Msg: "cannot be 22"}}
	got := reportConfigErrors("a.yaml", []byte("ssh:\n  localPort: 22\n"), err)
	if want := "a.yaml:2:14: field `ssh.localPort`: cannot be 22"; got.Error() != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestReportConfigErrorsOther(t *testing.T) {
	if got := reportConfigErrors("a.yaml", nil, errSentinel); got != errSentinel { //nolint:errorlint // identity
		t.Errorf("an error without FieldErrors must come back unchanged, got %v", got)
	}
	if reportConfigErrors("a.yaml", nil, nil) != nil {
		t.Error("nil must stay nil")
	}
}

func TestFinalLines(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	if err := os.MkdirAll(filepath.Join(home, "_config"), 0o755); err != nil {
		t.Fatal(err)
	}
	override := filepath.Join(home, "_config", "override.yaml")
	if err := os.WriteFile(override, []byte("vmType: hyperv\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want []string
	}{
		{"one line", errSentinel, []string{"sentinel"}},
		{"joined", errors.Join(errors.New("a"), errors.New("b")), []string{"a", "b"}},
		{"field errors not reported yet", limayaml.ValidationErrors{{Field: "vmType", Msg: "unknown"}, {File: "x.yaml", Line: 3, Column: 1, Field: "cpus", Msg: "bad"}},
			[]string{"2 errors in the configuration; fix them and run the command again"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(tc.want, finalLines(tc.err)); diff != "" {
				t.Error(diff)
			}
		})
	}
}
