package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra/doc"

	"github.com/limactl/limactl/pkg/iostreams"
)

// TestCommandDocsUpToDate keeps docs/commands/ in step with the commands: after changing a command or
// a flag, run `make docs`.
func TestCommandDocsUpToDate(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	root := newApp(ios)
	root.DisableAutoGenTag = true
	// Cobra adds these when the root command runs, as generate-doc does.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	// --tty defaults to "stdout is a terminal"; the committed reference is made with it false.
	if err := root.PersistentFlags().Lookup("tty").Value.Set("false"); err != nil {
		t.Fatal(err)
	}
	root.PersistentFlags().Lookup("tty").DefValue = "false"
	got := t.TempDir()
	if err := doc.GenMarkdownTree(root, got); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join("..", "..", "docs", "commands")
	read := func(dir string) map[string]string {
		m := map[string]string{}
		entries, err := os.ReadDir(dir)
		if err != nil {
			t.Fatalf("%v (run `make docs`)", err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			m[e.Name()] = string(b)
		}
		return m
	}
	if diff := cmp.Diff(read(want), read(got)); diff != "" {
		t.Errorf("docs/commands is stale; run `make docs` (-committed +generated):\n%s", diff)
	}
}
