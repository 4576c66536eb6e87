package limatmpl

import (
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUseAbsLocators(t *testing.T) {
	dir := t.TempDir()
	tmpl := &Template{Locator: filepath.Join(dir, "t.yaml"), Bytes: []byte(`# comment
base:
- b.yaml
- url: sub/c.yaml
- template:default
- https://example.com/x.yaml
provision:
- file: s.sh
probes:
- file: /abs/p.sh
`)}
	if err := tmpl.UseAbsLocators(); err != nil {
		t.Fatal(err)
	}
	want := `# comment
base:
- ` + filepath.Join(dir, "b.yaml") + `
- url: ` + filepath.Join(dir, "sub", "c.yaml") + `
- template:default
- https://example.com/x.yaml
provision:
- file: ` + filepath.Join(dir, "s.sh") + `
probes:
- file: /abs/p.sh
`
	if diff := cmp.Diff(want, string(tmpl.Bytes)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	same := &Template{Locator: "https://example.com/t/a.yaml", Bytes: []byte("base: ../b.yaml\n")}
	if err := same.UseAbsLocators(); err != nil {
		t.Fatal(err)
	}
	if string(same.Bytes) != "base: https://example.com/b.yaml\n" {
		t.Errorf("URL-relative base: got %q", same.Bytes)
	}
}

func TestListTemplates(t *testing.T) {
	lt := t.TempDir()
	t.Setenv("LIMA_HOME", t.TempDir())
	t.Setenv("LIMA_TEMPLATES_PATH", lt)
	writeFiles(t, lt, map[string]string{"zz-mine.yaml": "", "sub/x.yaml": "", "_parts/y.yaml": "", "notes.txt": ""})
	names, err := ListTemplates(false)
	if err != nil {
		t.Fatal(err)
	}
	has := map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	if !has["zz-mine"] || !has["sub/x"] || has["_parts/y"] || has["_default/mounts"] || has["notes"] {
		t.Errorf("ListTemplates(false) = %v", names)
	}
	names, err = ListTemplates(true)
	if err != nil {
		t.Fatal(err)
	}
	has = map[string]bool{}
	for _, n := range names {
		has[n] = true
	}
	if !has["_parts/y"] || !has["_default/mounts"] {
		t.Errorf("ListTemplates(true) = %v", names)
	}
}
