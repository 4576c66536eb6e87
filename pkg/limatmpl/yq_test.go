package limatmpl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const commented = `# The template's own comment

# CPUs to give
cpus: 2 # two is plenty
mounts:
  # home, read-only
  - location: "~"
provision:
- mode: system
  script: |
    #!/bin/sh
    echo hi
`

func TestEvaluateExpressionKeepsComments(t *testing.T) {
	got, err := EvaluateExpression(`.cpus = 4 | .memory = "4GiB" | .mounts += [{"location": "/tmp/lima", "writable": true}]`, []byte(commented))
	if err != nil {
		t.Fatal(err)
	}
	want := `# The template's own comment

# CPUs to give
cpus: 4 # two is plenty
mounts:
# home, read-only
- location: "~"
- location: /tmp/lima
  writable: true
provision:
- mode: system
  script: |
    #!/bin/sh
    echo hi
memory: 4GiB
`
	if diff := cmp.Diff(want, string(got)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestEvaluateExpressionEdges(t *testing.T) {
	if got, err := EvaluateExpression("", []byte("a: 1\n")); err != nil || string(got) != "a: 1\n" {
		t.Errorf("empty expression must return the input, got %q, %v", got, err)
	}
	if got, err := EvaluateExpression(".cpus = 2", nil); err != nil || string(got) != "cpus: 2\n" {
		t.Errorf("empty document: got %q, %v", got, err)
	}
	if _, err := EvaluateExpression(".cpus = ", []byte("a: 1\n")); err == nil || !strings.Contains(err.Error(), ".cpus =") {
		t.Errorf("a bad expression must be reported with the expression, got %v", err)
	}
	t.Setenv("LIMATMPL_SECRET", "s3cret")
	got, err := EvaluateExpression(`.x = env(LIMATMPL_SECRET)`, []byte("a: 1\n"))
	if err == nil && strings.Contains(string(got), "s3cret") {
		t.Errorf("env() must be disabled, got %q", got)
	}
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, []byte("secret: s3cret\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = EvaluateExpression(`.x = load("`+filepath.ToSlash(p)+`")`, []byte("a: 1\n"))
	if err == nil && strings.Contains(string(got), "s3cret") {
		t.Errorf("load() must be disabled, got %q", got)
	}
}

func TestApplyYQ(t *testing.T) {
	tmpl := &Template{Locator: "x.yaml", Bytes: []byte(commented)}
	if err := tmpl.ApplyYQ(".cpus = 8", "", `.mounts = null`); err != nil {
		t.Fatal(err)
	}
	want := "# The template's own comment\n\n# CPUs to give\ncpus: 8 # two is plenty\nmounts: null\nprovision:\n- mode: system\n  script: |\n    #!/bin/sh\n    echo hi\n"
	if diff := cmp.Diff(want, string(tmpl.Bytes)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	before := string(tmpl.Bytes)
	if err := tmpl.ApplyYQ(".cpus = 1", ".a |||"); err == nil {
		t.Fatal("a bad expression must fail")
	}
	if string(tmpl.Bytes) != before {
		t.Error("a failed ApplyYQ must leave the template unchanged")
	}
}

func runYQ(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	var in *strings.Reader
	if stdin != "" {
		in = strings.NewReader(stdin)
	}
	var err error
	if in != nil {
		err = RunYQ(args, in, &out, &errOut)
	} else {
		err = RunYQ(args, nil, &out, &errOut)
	}
	return out.String(), errOut.String(), err
}

func TestRunYQ(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "lima.yaml")
	if err := os.WriteFile(f, []byte("# c\ncpus: 2\nname: \"x\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"expression and file", "", []string{".cpus", f}, "2\n"},
		{"unwrapped string by default", "", []string{".name", f}, "x\n"},
		{"-r=false keeps quotes", "", []string{"-r=false", ".name", f}, "\"x\"\n"},
		{"-o json", "", []string{"-o", "json", "-I", "0", ".", f}, "{\"cpus\":2,\"name\":\"x\"}\n"},
		{"stdin", "a: [1, 2]\n", []string{".a[1]"}, "2\n"},
		{"stdin as -", "a: b\n", []string{".a", "-"}, "b\n"},
		{"eval subcommand", "", []string{"eval", ".cpus + 1", f}, "3\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, stderr, err := runYQ(t, c.stdin, c.args...)
			if err != nil {
				t.Fatalf("%v\nstderr: %s", err, stderr)
			}
			if out != c.want {
				t.Errorf("got %q, want %q", out, c.want)
			}
		})
	}

	if _, _, err := runYQ(t, "", "-i", ".cpus = 4", f); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(f)
	if string(b) != "# c\ncpus: 4\nname: \"x\"\n" {
		t.Errorf("-i: file is now %q", b)
	}
	if _, _, err := runYQ(t, "", ".a |||", f); err == nil {
		t.Error("a bad expression must return an error")
	}
	// yq's CLI must not have loosened the restrictions of EvaluateExpression.
	t.Setenv("LIMATMPL_SECRET", "s3cret")
	if got, err := EvaluateExpression(`.x = env(LIMATMPL_SECRET)`, []byte("a: 1\n")); err == nil && strings.Contains(string(got), "s3cret") {
		t.Error("env() must stay disabled after RunYQ")
	}
}

func TestEvaluate(t *testing.T) {
	const doc = `{"name":"one","cfg":{"list":[1,2],"s":"a & <b>","empty":{}},"ok":true}`
	for _, tc := range []struct {
		expr, content string
		out           Output
		want          string
	}{
		{".", doc, Output{JSON: true}, `{"name":"one","cfg":{"list":[1,2],"s":"a & <b>","empty":{}},"ok":true}` + "\n"},
		{".cfg.list", doc, Output{JSON: true, Indent: 2}, "[\n  1,\n  2\n]\n"},
		{".cfg.list[]", doc, Output{JSON: true}, "1\n2\n"},
		{".name", doc, Output{JSON: true, Indent: 4, Color: true}, "one\n"},
		{".name", "name: a\n---\nname: b\n", Output{}, "a\n---\nb\n"},
		// One document at a time, as Lima's stream evaluation does (not all at once).
		{"[.name]", "name: a\n---\nname: b\n", Output{JSON: true}, "[\"a\"]\n[\"b\"]\n"},
		{".m", "m:\n  l:\n    - x\n", Output{}, "l:\n- x\n"},
		{".ok", doc, Output{JSON: true, Color: true}, "true\n"},
		{".cfg.list", doc, Output{JSON: true, Color: true}, "[\x1b[95m1\x1b[0m,\x1b[95m2\x1b[0m]\n"},
		{".cfg.s", "cfg:\n  s: x\n", Output{Color: true}, "x\n"},
		{".cfg", "cfg:\n  s: x\n", Output{Color: true}, "\x1b[36ms\x1b[0m:\x1b[32m x\x1b[0m\n"},
	} {
		got, err := Evaluate(tc.expr, []byte(tc.content), tc.out)
		if err != nil {
			t.Errorf("%s %+v: %v", tc.expr, tc.out, err)
			continue
		}
		if diff := cmp.Diff(tc.want, string(got)); diff != "" {
			t.Errorf("%s %+v (-want +got):\n%s", tc.expr, tc.out, diff)
		}
	}
}

// The env and file operators are off, with yq's own words (Lima prints them as they are).
func TestEvaluateRestricted(t *testing.T) {
	file := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(file, []byte("a: 1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("LIMACTL_TEST_SECRET", "s3cret")
	for expr, want := range map[string]string{
		`env(LIMACTL_TEST_SECRET)`:            "env operations have been disabled",
		`.x = strenv(LIMACTL_TEST_SECRET)`:    "env operations have been disabled",
		`"${LIMACTL_TEST_SECRET}" | envsubst`: "env operations have been disabled",
		`load("` + file + `")`:                "file operations have been disabled",
		`load_str("` + file + `")`:            "file operations have been disabled",
		`.x = system("/bin/echo"; "hi")`:      "system operations are disabled",
	} {
		got, err := Evaluate(expr, []byte("{}"), Output{JSON: true})
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("%s: got %q, %v; want the error %q", expr, got, err, want)
		}
	}
}
