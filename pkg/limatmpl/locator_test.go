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

	"github.com/limactl/limactl/templates"
)

func TestReadTemplateSearchOrder(t *testing.T) {
	home := t.TempDir()
	t.Setenv("LIMA_HOME", home)
	p1, p2 := t.TempDir(), t.TempDir()
	t.Setenv("LIMA_TEMPLATES_PATH", "")
	embedded, err := templates.Read("_default/mounts")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	read := func(locator string) string {
		t.Helper()
		tmpl, err := Read(ctx, "", locator)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.Name != "mounts" {
			t.Errorf("Read(%q).Name = %q, want mounts", locator, tmpl.Name)
		}
		return string(tmpl.Bytes)
	}
	if got := read("template:_default/mounts"); got != string(embedded) {
		t.Errorf("embedded template: got %q", got)
	}
	writeFiles(t, home, map[string]string{"_templates/_default/mounts.yaml": "from: lima_home\n"})
	if got := read("template:_default/mounts"); got != "from: lima_home\n" {
		t.Errorf("$LIMA_HOME/_templates must win over the embedded one, got %q", got)
	}
	// A non-empty $LIMA_TEMPLATES_PATH replaces the search path: _templates is no longer
	// searched, the embedded templates stay the last fallback.
	t.Setenv("LIMA_TEMPLATES_PATH", p1+string(os.PathListSeparator)+p2)
	if got := read("template:_default/mounts"); got != string(embedded) {
		t.Errorf("$LIMA_TEMPLATES_PATH must replace _templates, got %q", got)
	}
	writeFiles(t, p2, map[string]string{"_default/mounts.yaml": "from: p2\n"})
	if got := read("template://_default/mounts"); got != "from: p2\n" {
		t.Errorf("$LIMA_TEMPLATES_PATH must win over the embedded one, got %q", got)
	}
	writeFiles(t, p1, map[string]string{"_default/mounts.yaml": "from: p1\n"})
	if got := read("template:_default/mounts"); got != "from: p1\n" {
		t.Errorf("the first dir of $LIMA_TEMPLATES_PATH must win, got %q", got)
	}
	if got := read("template:_default/mounts.yaml"); got != "from: p1\n" {
		t.Errorf("an explicit .yaml suffix: got %q", got)
	}
	for _, bad := range []string{"template:", "template:../x", "template:/etc/passwd", "template:a//b", "template:nope"} {
		if _, err := Read(ctx, "x", bad); err == nil {
			t.Errorf("Read(%q) must fail", bad)
		}
	}
}

func TestReadLocalPaths(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{"Foo.yaml": "cpus: 1\n", "bad name.yaml": "cpus: 1\n"})
	ctx := context.Background()
	abs := filepath.Join(dir, "Foo.yaml")

	tmpl, err := Read(ctx, "", abs)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name != "foo" || string(tmpl.Bytes) != "cpus: 1\n" || tmpl.Locator != abs {
		t.Errorf("absolute path: got %+v", tmpl)
	}

	t.Chdir(dir)
	tmpl, err = Read(ctx, "", "Foo.yaml")
	if err != nil || tmpl.Name != "foo" {
		t.Errorf("relative path: got %+v, %v", tmpl, err)
	}

	tmpl, err = Read(ctx, "", "file://"+filepath.ToSlash(abs))
	if err != nil || tmpl.Name != "foo" || string(tmpl.Bytes) != "cpus: 1\n" {
		t.Errorf("file URL: got %+v, %v", tmpl, err)
	}
	if _, err := Read(ctx, "x", "file://Foo.yaml"); err == nil {
		t.Error("a file:// URL with a host must be rejected")
	}

	tmpl, err = Read(ctx, "given", abs)
	if err != nil || tmpl.Name != "given" {
		t.Errorf("explicit name: got %+v, %v", tmpl, err)
	}
	if _, err := Read(ctx, "", "bad name.yaml"); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Errorf("an invalid derived name must be rejected, suggesting --name; got %v", err)
	}
	if _, err := Read(ctx, "in valid", abs); err == nil {
		t.Error("an invalid explicit name must be rejected")
	}
	if _, err := Read(ctx, "x", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("a missing file must be an error")
	}
	if _, err := Read(ctx, "x", "ftp://example.com/x.yaml"); err == nil || !strings.Contains(err.Error(), "unsupported locator") {
		t.Errorf("an unknown scheme must be rejected, got %v", err)
	}
}

func TestReadSizeLimit(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	p := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(p, make([]byte, MaxTemplateSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(context.Background(), "", p); err == nil || !strings.Contains(err.Error(), "limit") {
		t.Fatalf("want a size error, got %v", err)
	}
}

func TestReadHTTP(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dir/alpine.yaml" {
			_, _ = w.Write([]byte("cpus: 2\n"))
			return
		}
		http.Error(w, "no", http.StatusForbidden)
	}))
	defer srv.Close()
	tmpl, err := Read(context.Background(), "", srv.URL+"/dir/alpine.yaml?x=1")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name != "alpine" || string(tmpl.Bytes) != "cpus: 2\n" {
		t.Errorf("got %+v", tmpl)
	}
	if _, err := Read(context.Background(), "", srv.URL+"/other.yaml"); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("want a 403 error, got %v", err)
	}
	if _, err := Read(context.Background(), "", srv.URL+"/"); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Errorf("a URL without a file name needs --name, got %v", err)
	}
}

func TestReadStdin(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	old := stdin
	defer func() { stdin = old }()
	stdin = strings.NewReader("cpus: 3\n")
	if _, err := Read(context.Background(), "", "-"); err == nil || !strings.Contains(err.Error(), "--name") {
		t.Fatalf("stdin without a name must ask for --name, got %v", err)
	}
	tmpl, err := Read(context.Background(), "piped", "-")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&Template{Name: "piped", Locator: "-", Bytes: []byte("cpus: 3\n")}, tmpl); diff != "" {
		t.Error(diff)
	}
}

func TestReadImageURL(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	host := hostArch()
	cases := []struct {
		locator, name, arch string
	}{
		{"https://cloud.debian.org/images/cloud/bookworm/latest/debian-12-genericcloud-arm64.qcow2", "debian-12-arm64", "aarch64"},
		{"https://example.com/ubuntu-24.04-server-cloudimg-amd64.img", "ubuntu-24.04-amd64", "x86_64"},
		{"https://example.com/Fedora-Cloud-Base-Generic-41-1.4.x86_64.qcow2", "fedora-41-1.4-x86_64", "x86_64"},
		{"https://example.com/nocloud_alpine-3.20.3-aarch64-uefi-cloudinit-r0.qcow2", "alpine-3.20.3-aarch64-r0", "aarch64"},
		{"https://example.com/opensuse-leap-15.6-riscv64-20240101.raw.xz", "opensuse-leap-15.6-riscv64", "riscv64"},
		{"/var/images/my-distro.iso.zst", "my-distro", host},
		{"file:///var/images/archive-20250102.1.img.zstd", "archive", host},
		{"https://example.com/x/rocky-9-s390x.img.bz2", "rocky-9-s390x", "s390x"},
		{"https://example.com/x/freebsd-14.img.gz", "freebsd-14", host},
	}
	for _, c := range cases {
		tmpl, err := Read(context.Background(), "", c.locator)
		if err != nil {
			t.Errorf("%s: %v", c.locator, err)
			continue
		}
		wantName := c.name
		// The host's own architecture is dropped from the name.
		for _, k := range archKeywords {
			if k.arch == host && c.arch == host {
				wantName = archPattern(k.words).ReplaceAllString(wantName, "")
			}
		}
		if tmpl.Name != wantName {
			t.Errorf("%s: name %q, want %q", c.locator, tmpl.Name, wantName)
		}
		body := string(tmpl.Bytes)
		want := "arch: " + c.arch + "\nimages:\n- location: \"" + c.locator + "\"\n  arch: " + c.arch + "\n"
		if !strings.HasSuffix(body, want) {
			t.Errorf("%s: template\n%s\nwant it to end with\n%s", c.locator, body, want)
		}
	}
	if !SeemsImageURL("https://x/a.qcow2?sig=1") || SeemsImageURL("https://x/a.yaml") || SeemsImageURL("https://x/a.img.rar") {
		t.Error("SeemsImageURL misclassifies")
	}
	tmpl, err := Read(context.Background(), "", "https://example.com/x/freebsd-14.img.gz")
	if err != nil || !strings.Contains(string(tmpl.Bytes), "os: FreeBSD\n") {
		t.Errorf("a FreeBSD image must set os: FreeBSD, got %s, %v", tmpl.Bytes, err)
	}
}

func TestInstNames(t *testing.T) {
	cases := map[string]string{
		"/x/foo.yaml":                         "foo",
		"debian-12.yml":                       "debian-12",
		"ubuntu-24.04.yaml":                   "ubuntu-24.04",
		"https://example.com/a/b/Alpine.yaml": "alpine",
	}
	for in, want := range cases {
		var got string
		var err error
		if strings.Contains(in, "://") {
			got, err = InstNameFromURL(in)
		} else {
			got, err = InstNameFromYAMLPath(in)
		}
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := InstNameFromYAMLPath("/x/-bad-.yaml"); err == nil {
		t.Error("an invalid file name must be rejected")
	}
}

// Lima's own amazonlinux template writes its base as template:./_images/amazonlinux; Lima
// reads the name under the templates directory with securejoin, so "." elements are dropped.
func TestTemplateNameDotElements(t *testing.T) {
	t.Setenv("LIMA_HOME", t.TempDir())
	dir := t.TempDir()
	t.Setenv("LIMA_TEMPLATES_PATH", dir)
	writeFiles(t, dir, map[string]string{
		"_images/distro.yaml": "images:\n- location: https://example.com/distro.qcow2\n  arch: x86_64\n",
		"distro.yaml":         "base:\n- template:./_images/distro\n- template:./_default/mounts\ncpus: 2\n",
	})
	ctx := context.Background()
	tmpl, err := Read(ctx, "", "template:./distro")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Name != "distro" {
		t.Errorf("Name = %q, want distro", tmpl.Name)
	}
	if err := tmpl.Embed(ctx, true, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"https://example.com/distro.qcow2", "cpus: 2", "location: \"~\""} {
		if !strings.Contains(string(tmpl.Bytes), want) {
			t.Errorf("merged template lacks %q:\n%s", want, tmpl.Bytes)
		}
	}
	if strings.Contains(string(tmpl.Bytes), "base:") {
		t.Errorf("merged template still has base:\n%s", tmpl.Bytes)
	}
	for _, bad := range []string{"template:.", "template:./", "template:./../distro", "template:_images/./../../x", "template:.//distro"} {
		if _, err := Read(ctx, "x", bad); err == nil {
			t.Errorf("Read(%q) must fail", bad)
		}
	}
}
