package iostreams

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

func TestSelect(t *testing.T) {
	ios, in, _, errOut := Test()
	ios.SetInteractive(true)
	in.WriteString("7\n2\n")
	got, err := ios.Select("Pick", []string{"a", "b", "c"}, 0)
	if err != nil || got != 1 {
		t.Fatalf("Select = %d, %v; want 1 (stderr: %s)", got, err, errOut)
	}
	if _, err := ios.Select("Pick", []string{"a"}, 0); err == nil {
		t.Fatal("Select at end of input: want error")
	}
}

func TestSelectNotInteractive(t *testing.T) {
	ios, _, _, _ := Test()
	if _, err := ios.Select("Pick", []string{"a"}, 0); err == nil {
		t.Fatal("want ErrNotInteractive")
	}
}

func TestEditRunsEditor(t *testing.T) {
	script := filepath.Join(t.TempDir(), "ed.sh")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsed -i 's/cpus: 1/cpus: 2/' \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VISUAL", "")
	t.Setenv("EDITOR", script)
	ios, _, _, _ := Test()
	ios.SetInteractive(true)
	got, err := ios.Edit(context.Background(), []byte("cpus: 1\n"), "lima.yaml", "header line")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "cpus: 2\n" {
		t.Fatalf("edited = %q", got)
	}
}

// _LIMA_OUTPUT_IS_TTY turns on colour and nothing else: prompts and the editor still need a terminal.
func TestColorEnabledKnob(t *testing.T) {
	t.Setenv("_LIMA_OUTPUT_IS_TTY", "")
	if s := System(); s.ColorEnabled() != s.IsStdoutTTY() {
		t.Errorf("without the knob, ColorEnabled = %v, IsStdoutTTY = %v", s.ColorEnabled(), s.IsStdoutTTY())
	}
	t.Setenv("_LIMA_OUTPUT_IS_TTY", "1")
	s := System()
	if !s.ColorEnabled() {
		t.Error("_LIMA_OUTPUT_IS_TTY=1: ColorEnabled = false")
	}
	if s.IsStdoutTTY() != isTerminal(os.Stdout) || s.CanPrompt() != isTerminal(os.Stdout) {
		t.Error("_LIMA_OUTPUT_IS_TTY changed terminal detection or prompting")
	}
	if ios, _, _, _ := Test(); ios.ColorEnabled() {
		t.Error("Test streams are coloured")
	}
}
