package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestMakefileScript runs hack/version.sh, which `make` passes to -ldflags, in a scratch git
// history: without a release tag, at one, and after one.
func TestMakefileScript(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	script, err := filepath.Abs(filepath.Join("..", "..", "hack", "version.sh"))
	if err != nil {
		t.Fatal(err)
	}
	repo := t.TempDir()
	if err := os.MkdirAll(filepath.Join(repo, "hack"), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(repo, "hack", "version.sh"), b, 0o755); err != nil {
		t.Fatal(err)
	}
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"}, args...)...)
		cmd.Dir = repo
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run := func() string {
		t.Helper()
		out, err := exec.Command(filepath.Join(repo, "hack", "version.sh")).Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out))
	}
	git("init", "-q")
	git("add", "hack")
	git("commit", "-q", "-m", "one")
	git("commit", "-q", "--allow-empty", "-m", "two")
	if got := run(); !regexp.MustCompile(`^0\.0\.0-2-g[0-9a-f]{7,}$`).MatchString(got) {
		t.Errorf("without a tag: %q, want 0.0.0-2-gHASH", got)
	}
	if err := os.WriteFile(filepath.Join(repo, "hack", "version.sh"), append(b, '\n'), 0o755); err != nil {
		t.Fatal(err)
	}
	if got := run(); !regexp.MustCompile(`^0\.0\.0-2-g[0-9a-f]{7,}\.m$`).MatchString(got) {
		t.Errorf("without a tag, modified: %q, want 0.0.0-2-gHASH.m", got)
	}
	git("checkout", "-q", "--", "hack")
	git("tag", "v2.3.0")
	if got := run(); got != "2.3.0" {
		t.Errorf("at v2.3.0: %q", got)
	}
	git("commit", "-q", "--allow-empty", "-m", "three")
	if got := run(); !regexp.MustCompile(`^2\.3\.0-1-g[0-9a-f]{7,}$`).MatchString(got) {
		t.Errorf("after v2.3.0: %q, want 2.3.0-1-gHASH", got)
	}
	for _, v := range []string{run(), "0.0.0-2-gabc1234.m"} {
		if Normalize(v) != v {
			t.Errorf("Normalize(%q) = %q: the script's output must already be a semantic version", v, Normalize(v))
		}
	}
}
