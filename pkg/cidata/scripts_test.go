package cidata

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// embeddedScripts writes every embedded script to a temporary tree (as the guest sees it under
// /mnt/lima-cidata, plus hook/) and returns the root and the relative paths.
func embeddedScripts(t *testing.T) (string, []string) {
	t.Helper()
	root := t.TempDir()
	var paths []string
	err := fs.WalkDir(bootFS, "boot", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := bootFS.ReadFile(p)
		if err != nil {
			return err
		}
		rel := strings.TrimPrefix(p, "boot/")
		dst := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		paths = append(paths, rel)
		return os.WriteFile(dst, b, 0o755)
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) < 8 {
		t.Fatalf("only %d embedded scripts: %v", len(paths), paths)
	}
	return root, paths
}

// TestScriptsParse runs every embedded script through the shells that may run it in a guest.
func TestScriptsParse(t *testing.T) {
	root, paths := embeddedScripts(t)
	for _, sh := range []string{"sh", "dash", "bash", "busybox"} {
		bin, err := exec.LookPath(sh)
		if err != nil {
			t.Logf("%s not installed: skipped", sh)
			continue
		}
		for _, p := range paths {
			args := []string{"-n", p}
			if sh == "busybox" {
				args = []string{"sh", "-n", p}
			}
			cmd := exec.Command(bin, args...)
			cmd.Dir = root
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s -n %s: %v\n%s", sh, p, err, out)
			}
		}
	}
}

func TestScriptsShellcheck(t *testing.T) {
	bin, err := exec.LookPath("shellcheck")
	if err != nil {
		t.Skip("shellcheck not installed (apt-get install shellcheck)")
	}
	root, paths := embeddedScripts(t)
	cmd := exec.Command(bin, append([]string{"-s", "sh", "-x", "-P", "SCRIPTDIR"}, paths...)...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// TestUserDataScriptsParse checks the shell the seed puts into user-data: the bootcmd entries for
// boot provisions, whose here-documents must survive any script content.
func TestUserDataScriptsParse(t *testing.T) {
	for _, tc := range goldenCases() {
		a := baseArgs(t)
		tc.edit(t, &a)
		for i, c := range bootCommands(a.Config) {
			cmd := exec.Command("sh", "-n")
			cmd.Stdin = strings.NewReader(c)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("%s: bootcmd %d does not parse: %v\n%s\n%s", tc.name, i, err, out, c)
			}
		}
	}
}
