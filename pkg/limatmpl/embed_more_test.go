package limatmpl

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func embed(t *testing.T, tmpl *Template, embedAll, defaultBase bool) string {
	t.Helper()
	if err := tmpl.Embed(context.Background(), embedAll, defaultBase); err != nil {
		t.Fatal(err)
	}
	return string(tmpl.Bytes)
}

func TestEmbedDefaultBase(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	writeFiles(t, home, map[string]string{"_config/base.yaml": "cpus: 9\nmemory: 9GiB\nprovision:\n- script: site\n"})
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"b.yaml": "cpus: 2\ndisk: 2GiB\nprovision:\n- script: b\n"})
	src := "base: b.yaml\nmemory: 1GiB\nprovision:\n- script: t\n"

	// base.yaml comes first, so it wins over the template's own bases.
	got := embed(t, &Template{Locator: filepath.Join(dir, "t.yaml"), Bytes: []byte(src)}, true, true)
	want := "memory: 1GiB\nprovision:\n- script: b\n- script: site\n- script: t\ncpus: 9\ndisk: 2GiB\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("with defaultBase (-want +got):\n%s", diff)
	}

	got = embed(t, &Template{Locator: filepath.Join(dir, "t.yaml"), Bytes: []byte(src)}, true, false)
	want = "memory: 1GiB\nprovision:\n- script: b\n- script: t\ncpus: 2\ndisk: 2GiB\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("without defaultBase (-want +got):\n%s", diff)
	}
}

func TestEmbedKeepsTemplateBases(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"local.yaml": "base: template:_default/mounts\ncpus: 3\nprovision:\n- file: template:_default/x.sh\n",
	})
	tmpl := &Template{Locator: filepath.Join(dir, "t.yaml"), Bytes: []byte("base:\n- local.yaml\n- template:debian\n")}
	got := embed(t, tmpl, false, false)
	want := "base:\n- template:_default/mounts\n- template:debian\ncpus: 3\nprovision:\n- file: template:_default/x.sh\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	tmpl = &Template{Locator: filepath.Join(dir, "t.yaml"), Bytes: []byte("base:\n- template:debian\n- local.yaml\n")}
	if err := tmpl.Embed(context.Background(), false, false); err == nil || !strings.Contains(err.Error(), "after keeping") {
		t.Fatalf("a local base after a kept template: base must be an error, got %v", err)
	}
}

func TestEmbedHTTP(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	files := map[string]string{
		"/t/template.yaml": "base: ../b/base.yaml\nprovision:\n- file: setup.sh\n",
		"/b/base.yaml":     "base: more.yaml\ncpus: 2\n",
		"/b/more.yaml":     "memory: 2GiB\n",
		"/t/setup.sh":      "#!/bin/sh\necho setup\n",
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte(s))
	}))
	defer srv.Close()
	tmpl, err := Read(context.Background(), "", srv.URL+"/t/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name != "template" {
		t.Errorf("name = %q, want template", tmpl.Name)
	}
	got := embed(t, tmpl, true, false)
	want := "provision:\n- script: |\n    #!/bin/sh\n    echo setup\ncpus: 2\nmemory: 2GiB\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	tmpl = &Template{Locator: srv.URL + "/t/x.yaml", Bytes: []byte("base: missing.yaml\n")}
	if err := tmpl.Embed(context.Background(), true, false); err == nil || !strings.Contains(err.Error(), "404") {
		t.Fatalf("want a 404 error, got %v", err)
	}
}

func TestEmbedFromStdinRejectsRelativeBase(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	tmpl := &Template{Name: "x", Locator: "-", Bytes: []byte("base: b.yaml\n")}
	err := tmpl.Embed(context.Background(), true, false)
	if err == nil || !strings.Contains(err.Error(), "stdin") {
		t.Fatalf("want an error about stdin, got %v", err)
	}
	abs := filepath.Join(t.TempDir(), "b.yaml")
	if err := os.WriteFile(abs, []byte("cpus: 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl = &Template{Name: "x", Locator: "-", Bytes: []byte("base: " + abs + "\n")}
	if got := embed(t, tmpl, true, false); got != "cpus: 1\n" {
		t.Errorf("absolute base from stdin: got %q", got)
	}
}

func TestEmbedLoopErrorNamesTheChain(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"a.yaml": "base: b.yaml\n", "b.yaml": "base: a.yaml\n"})
	tmpl := &Template{Locator: filepath.Join(dir, "t.yaml"), Bytes: []byte("base: a.yaml\n")}
	err := tmpl.Embed(context.Background(), true, false)
	a, b := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	want := "base template loop: " + filepath.Join(dir, "t.yaml") + " -> " + a + " -> " + b + " -> " + a
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
}

func TestEmbedTemplateRelativeLocators(t *testing.T) {
	lt := t.TempDir()
	t.Setenv("LIMA_HOME", t.TempDir())
	t.Setenv("LIMA_TEMPLATES_PATH", lt)
	writeFiles(t, lt, map[string]string{
		"mine/top.yaml":       "base: parts/cpu.yaml\nprobes:\n- file: parts/probe.sh\n",
		"mine/parts/cpu.yaml": "cpus: 7\n",
		"mine/parts/probe.sh": "#!/bin/sh\n",
	})
	tmpl, err := Read(context.Background(), "", "template:mine/top")
	if err != nil {
		t.Fatal(err)
	}
	got := embed(t, tmpl, true, false)
	want := "probes:\n- script: |\n    #!/bin/sh\ncpus: 7\n"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}

	tmpl = &Template{Locator: "template:top", Bytes: []byte("base: ../../etc/passwd\n")}
	if err := tmpl.Embed(context.Background(), true, false); err == nil || !strings.Contains(err.Error(), "leaves the template directory") {
		t.Fatalf("want a traversal error, got %v", err)
	}
}
